//! Approvers' commands: `approve`, `deny`, `show` (with the texts to sign
//! for a remote decision) and `review`.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::time::SystemTime;

use elevated_proto::{DecideOn, Request, ReviewNote, Verdict};

use crate::args::{DecisionArgs, ReviewArgs, ShowArgs};
use crate::conn::Daemon;
use crate::exit::{self, Failure};
use crate::out::Out;
use crate::render;

/// Largest signature file read, in bytes. A real one is well under 1 KiB.
pub const MAX_SIGNATURE: u64 = 64 * 1024;

/// Reads an `ssh-keygen -Y sign` signature file: text, at most
/// [`MAX_SIGNATURE`] bytes.
pub fn read_signature(path: &Path) -> Result<String, Failure> {
    let shown = path.display();
    let unreadable =
        |e: std::io::Error| Failure::usage(format!("cannot read the signature file {shown}: {e}"));
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(MAX_SIGNATURE + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_SIGNATURE {
        return Err(Failure::usage(format!(
            "the signature file {shown} is larger than 64 KiB; \
             give the .sig file that `ssh-keygen -Y sign` wrote"
        )));
    }
    String::from_utf8(bytes).map_err(|_| {
        Failure::usage(format!(
            "the signature file {shown} is not text; \
             give the .sig file that `ssh-keygen -Y sign` wrote"
        ))
    })
}

/// `approve` and `deny`: exit 0 once the daemon took the decision, whatever
/// state the request is in afterwards.
pub fn decide(
    socket: &Path,
    verdict: Verdict,
    args: DecisionArgs,
    out: &Out,
) -> Result<u8, Failure> {
    let signature = args.signature.as_deref().map(read_signature).transpose()?;
    let (id, comment) = (args.id, args.comment);
    let request = match verdict {
        Verdict::Approve => Request::Approve(DecideOn {
            id,
            comment,
            signature,
        }),
        Verdict::Deny => Request::Deny(DecideOn {
            id,
            comment,
            signature,
        }),
    };
    let view = Daemon::connect(socket)?.call_view(request)?;
    if out.json {
        out.json(&view)?;
    } else {
        out.text(&render::decided(&view));
    }
    Ok(exit::OK)
}

/// `show`: the details, or only the text to sign.
pub fn show(socket: &Path, args: ShowArgs, out: &Out) -> Result<u8, Failure> {
    let mut daemon = Daemon::connect(socket)?;
    let verdict = if args.approval_text {
        Some(Verdict::Approve)
    } else if args.denial_text {
        Some(Verdict::Deny)
    } else {
        None
    };
    if let Some(v) = verdict {
        let text = daemon.decision_text(&args.id, v)?;
        if out.json {
            out.json(&serde_json::json!({ "text": text }))?;
        } else if std::io::stdout().is_terminal() {
            out.text(&on_screen(&text));
        } else {
            out.text(&text);
        }
        return Ok(exit::OK);
    }
    let view = daemon.call_view(Request::Show { id: args.id })?;
    if out.json {
        out.json(&view)?;
    } else {
        out.text(&render::details(&view, SystemTime::now()));
    }
    Ok(exit::OK)
}

/// The text to sign as shown on a terminal: line ends and tabs kept, other
/// control characters escaped. Redirected, it is written byte for byte.
fn on_screen(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            let (body, end) = match line.strip_suffix('\n') {
                Some(b) => (b, "\n"),
                None => (line, ""),
            };
            let cells: Vec<String> = body.split('\t').map(render::clean).collect();
            format!("{}{end}", cells.join("\t"))
        })
        .collect()
}

/// `review`: closes the review of a break-glass grant.
pub fn review(socket: &Path, args: ReviewArgs, out: &Out) -> Result<u8, Failure> {
    let view = Daemon::connect(socket)?.call_view(Request::Review(ReviewNote {
        id: args.id,
        comment: args.comment,
    }))?;
    if out.json {
        out.json(&view)?;
    } else {
        let mut text = render::changed(&view);
        if let Some(r) = &view.reviewed {
            text.push_str(&format!("  reviewed  {}\n", render::clean(r)));
        }
        out.text(&text);
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_files() {
        let dir = tempfile::tempdir().unwrap();
        let sig = dir.path().join("a.sig");
        let armored = "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n";
        std::fs::write(&sig, armored).unwrap();
        assert_eq!(read_signature(&sig).unwrap(), armored);
        let exact = dir.path().join("exact.sig");
        std::fs::write(&exact, vec![b'a'; 64 * 1024]).unwrap();
        assert_eq!(read_signature(&exact).unwrap().len(), 64 * 1024);
        let big = dir.path().join("big.sig");
        std::fs::write(&big, vec![b'a'; 64 * 1024 + 1]).unwrap();
        let f = read_signature(&big).unwrap_err();
        assert_eq!(f.status, 2);
        assert!(f.message.contains("larger than 64 KiB"), "{}", f.message);
        let binary = dir.path().join("bin.sig");
        std::fs::write(&binary, b"\xff\xfe").unwrap();
        assert!(read_signature(&binary)
            .unwrap_err()
            .message
            .contains("not text"));
        let f = read_signature(&dir.path().join("none.sig")).unwrap_err();
        assert_eq!(f.status, 2);
        assert!(f.message.contains("none.sig"), "{}", f.message);
        assert_eq!(read_signature(dir.path()).unwrap_err().status, 2);
    }

    #[test]
    fn texts_on_screen_keep_lines_and_tabs() {
        assert_eq!(on_screen("a\tb\nc\n"), "a\tb\nc\n");
        assert_eq!(on_screen("x\x1b[2Jy"), "x\\u{1b}[2Jy");
        assert_eq!(on_screen("r\r\n"), "r\\r\n");
    }
}
