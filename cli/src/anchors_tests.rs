use super::*;

fn h(c: char) -> String {
    c.to_string().repeat(64)
}

#[test]
fn reads_syslog_lines_in_their_usual_forms() {
    let a = h('a');
    let text = format!(
        "<86>Dec  2 07:07:05 elevated[123]: seq=1 hash={a} event=requested actor=alice request=abcd2345 detail={{}}\n\
         Dec  2 07:07:06 db1 elevated[123]: seq=2 hash={b} event=granted actor=daemon request=abcd2345 detail={{}}\n\
         2025-01-31T10:00:00+00:00 db1 elevated: seq=3 hash={c} event=expired actor=daemon request=- detail={{}}\n\
         Dec  2 07:07:07 db1 sshd[99]: Accepted publickey for alice\n\
         Dec  2 07:07:07 db1 notelevated[1]: seq=4 hash={c} event=x\n\
         Dec  2 07:07:08 db1 sshd[99]: Invalid user elevated[1]: seq=5 hash={c} from 192.0.2.1\n\
         Dec  2 07:07:08 db1 elevated[x]: seq=6 hash={c} event=x\n",
        b = h('b'),
        c = h('c'),
    );
    let found = parse(text.as_bytes());
    let got: Vec<(u64, usize)> = found.iter().map(|a| (a.seq, a.line)).collect();
    assert_eq!(got, vec![(1, 1), (2, 2), (3, 3)]);
    assert_eq!(found[0].hash, a);
}

#[test]
fn reads_journal_json_with_text_or_byte_messages() {
    let msg = format!(
        "seq=7 hash={} event=granted actor=alice request=- detail={{}}",
        h('d')
    );
    let bytes: Vec<u8> = msg.bytes().collect();
    let text = format!(
        "{}\n{}\n{}\n{}\n",
        serde_json::json!({"SYSLOG_IDENTIFIER": "elevated", "_UID": "0", "MESSAGE": msg}),
        serde_json::json!({"SYSLOG_IDENTIFIER": "elevated", "MESSAGE": bytes}),
        // Another user logging under the daemon's name: journald knows better.
        serde_json::json!({"SYSLOG_IDENTIFIER": "elevated", "_UID": "1000", "MESSAGE": msg}),
        serde_json::json!({"SYSLOG_IDENTIFIER": "sshd", "_UID": "0", "MESSAGE": msg}),
    );
    let found = parse(text.as_bytes());
    let got: Vec<(u64, usize)> = found.iter().map(|a| (a.seq, a.line)).collect();
    assert_eq!(got, vec![(7, 1), (7, 2)]);
}

#[test]
fn only_the_start_of_the_message_counts() {
    // A requester's reason sits in the detail at the end: it cannot anchor.
    let forged = format!(
        "Dec  2 07:07:06 db1 elevated[1]: seq=2 hash={} event=requested detail={{\"reason\":\" seq=1 hash={}\"}}\n\
         Dec  2 07:07:06 db1 elevated[1]: event=x seq=3 hash={}\n\
         Dec  2 07:07:06 db1 elevated[1]: seq=4 hash={}ff event=x\n\
         Dec  2 07:07:06 db1 elevated[1]: seq=0 hash={} event=x\n",
        h('a'),
        h('b'),
        h('c'),
        h('d'),
        h('e'),
    );
    let found = parse(forged.as_bytes());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].seq, found[0].hash.clone()), (2, h('a')));
}

#[test]
fn survives_bytes_that_are_not_text() {
    let mut bytes = b"\xff\xfe garbage\n".to_vec();
    bytes.extend(format!("x elevated[1]: seq=5 hash={}\n", h('0')).as_bytes());
    bytes.extend(b"{not json\n");
    let found = parse(&bytes);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].line, 2);
}
