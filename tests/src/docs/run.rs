//! Command examples run against a scenario's daemon: `$ COMMAND` lines
//! (`alice$ ...` as that user), each followed by its documented output.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::compare::{doc_ids, match_lines, normalise};
use super::extract::Block;
use super::scenario::Stage;
use super::Failure;
use crate::host::as_user;

/// How long one documented command may take (a request waiting for
/// approvers the scenario provides takes a second or two).
const COMMAND_LIMIT: Duration = Duration::from_secs(30);

/// One command and the output the documentation shows for it.
struct Step {
    line: usize,
    user: Option<String>,
    command: String,
    /// (documentation line, text).
    output: Vec<(usize, String)>,
}

/// `alice$ cmd` → (Some(alice), cmd); `$ cmd` → (None, cmd).
pub fn prompt(line: &str) -> Option<(Option<&str>, &str)> {
    let (who, cmd) = line.split_once("$ ")?;
    let ok = who.is_empty()
        || (who
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !who.starts_with('-'));
    ok.then_some(((!who.is_empty()).then_some(who), cmd))
}

fn steps(block: &Block, of: Option<&str>) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    if let Some(cmd) = of {
        // The block shows the end of the command's output.
        let mut output = vec![(block.line, "...".to_owned())];
        output.extend(
            block
                .lines
                .iter()
                .enumerate()
                .map(|(i, l)| (block.line + i, l.clone())),
        );
        return vec![Step {
            line: block.line,
            user: None,
            command: cmd.to_owned(),
            output,
        }];
    }
    for (i, l) in block.lines.iter().enumerate() {
        let n = block.line + i;
        match prompt(l) {
            Some((who, cmd)) => out.push(Step {
                line: n,
                user: who.map(str::to_owned),
                command: cmd.to_owned(),
                output: Vec::new(),
            }),
            None => match out.last_mut() {
                Some(s) => s.output.push((n, l.clone())),
                None => {
                    return vec![Step {
                        line: n,
                        user: None,
                        command: String::new(),
                        output: Vec::new(),
                    }]
                }
            },
        }
    }
    out
}

/// Words of a command line, with `'...'` and `"..."` quoting.
fn words(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    let mut any = false;
    for c in cmd.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (_, c) => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// Runs every step of `block` in `stage`; every difference is a failure.
pub fn run(block: &Block, stage: &Stage, of: Option<&str>, user: Option<&str>) -> Vec<Failure> {
    let doc_text = block.text() + of.unwrap_or_default();
    let id_map: Vec<(String, String)> = doc_ids(&doc_text)
        .into_iter()
        .zip(stage.ids.iter().cloned())
        .collect();
    let names = stage.names();
    let mut failures = Vec::new();
    let mut last_status: Option<i32> = None;
    for step in steps(block, of) {
        let fail = |what: String| Failure {
            file: block.file.clone(),
            line: step.line,
            what,
        };
        if step.command.is_empty() {
            failures.push(fail("output without a `$ COMMAND` line before it".into()));
            break;
        }
        let mut w = words(&step.command);
        let mut who = step
            .user
            .clone()
            .or(user.map(str::to_owned))
            .unwrap_or(stage.default_user.clone());
        if w.first().is_some_and(|p| p == "sudo") {
            w.remove(0);
            who = "root".into();
        }
        for word in &mut w {
            if let Some((_, real)) = id_map.iter().find(|(d, _)| d == word) {
                *word = real.clone();
            } else if let Some(u) = stage.users.get(word.as_str()) {
                *word = u.name.clone();
            }
        }
        let real = match w.first().map(String::as_str) {
            Some("echo") if w.get(1).is_some_and(|a| a == "$?") => match last_status {
                Some(s) => s.to_string(),
                None => {
                    failures.push(fail("`echo $?` before any command".into()));
                    continue;
                }
            },
            Some("elevate" | "elevated") => match execute(stage, &who, &w) {
                Ok((status, out)) => {
                    last_status = Some(status);
                    out
                }
                Err(e) => {
                    failures.push(fail(e));
                    break;
                }
            },
            _ => {
                failures.push(fail(format!(
                    "cannot run `{}` here: only elevate and elevated (mark the block not-run with a reason)",
                    step.command
                )));
                break;
            }
        };
        let mut real = real;
        for (t, d) in &names {
            real = real.replace(t.as_str(), d);
        }
        let ids = stage.all_ids();
        let real_lines: Vec<String> = real.lines().map(|l| normalise(l, &ids)).collect();
        let doc_lines: Vec<String> = step.output.iter().map(|(_, l)| normalise(l, &[])).collect();
        if let Err(at) = match_lines(&doc_lines, &real_lines) {
            let line = step.output.get(at).map_or(step.line, |(n, _)| *n);
            let show = |v: &mut dyn Iterator<Item = &str>| {
                v.map(|l| format!("\n    | {l}")).collect::<String>()
            };
            failures.push(Failure {
                file: block.file.clone(),
                line,
                what: format!(
                    "`{}`: output differs{}\n  documented:{}\n  real:{}",
                    step.command,
                    step.output.get(at).map_or(
                        " (more lines than documented)".to_owned(),
                        |(_, l)| format!(" at `{l}`")
                    ),
                    show(&mut step.output.iter().map(|(_, l)| l.as_str())),
                    show(&mut real.lines()),
                ),
            });
        }
    }
    failures
}

/// Runs `elevate`/`elevated` as `who` with stdout and stderr in one
/// stream (in the order written); the status and the output.
fn execute(stage: &Stage, who: &str, w: &[String]) -> Result<(i32, String), String> {
    let d = &stage.daemon;
    let prog = crate::bin(&w[0]).display().to_string();
    let mut args: Vec<String> = Vec::new();
    if w[0] == "elevate" {
        args.extend(["--socket".into(), d.socket.display().to_string()]);
        args.extend(w[1..].iter().cloned());
    } else {
        args.extend(w[1..].iter().cloned());
        args.extend(["--config".into(), d.config.display().to_string()]);
    }
    let mut sh_args = vec![
        "-c".to_owned(),
        "exec \"$@\" 2>&1".into(),
        "sh".into(),
        prog,
    ];
    sh_args.extend(args);
    let refs: Vec<&str> = sh_args.iter().map(String::as_str).collect();
    let mut cmd = match stage.users.get(who) {
        Some(u) => as_user(u, "/bin/sh", &refs),
        None if who == "root" => {
            let mut c = Command::new("/bin/sh");
            c.args(&refs);
            c
        }
        None => return Err(format!("the scenario has no user `{who}`")),
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", w[0]))?;
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > COMMAND_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "`{}` did not finish within {COMMAND_LIMIT:?}",
                w.join(" ")
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = reader.join().unwrap_or_default();
    Ok((
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out).into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_and_words_are_read_like_a_shell_would() {
        assert_eq!(prompt("$ elevate roles"), Some((None, "elevate roles")));
        assert_eq!(
            prompt("alice$ elevate roles"),
            Some((Some("alice"), "elevate roles"))
        );
        assert_eq!(prompt("cost is 5$ each"), None);
        assert_eq!(
            words(r#"elevate request x --reason "INC-42: nginx" -c 'select 1' """#),
            vec![
                "elevate",
                "request",
                "x",
                "--reason",
                "INC-42: nginx",
                "-c",
                "select 1",
                ""
            ]
        );
    }
}
