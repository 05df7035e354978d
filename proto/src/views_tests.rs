use super::*;

#[test]
fn states_round_trip() {
    for s in [
        "pending",
        "active",
        "denied",
        "cancelled",
        "timed_out",
        "expired",
        "revoked",
    ] {
        let st = RequestState::from_name(s).unwrap();
        assert_eq!(st.as_str(), s);
        assert_eq!(serde_json::to_string(&st).unwrap(), format!("\"{s}\""));
    }
}
