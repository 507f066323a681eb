//! `#[pg_test]`s: the glue exercised inside a running Postgres.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn one_f64(sql: &str) -> f64 {
        Spi::get_one::<f64>(sql).expect("query failed").expect("query returned NULL")
    }

    #[pg_test]
    fn params_hand_out_placeholders_in_order_with_their_types() {
        use crate::pg::base::params::Params;
        use pgrx::pg_sys::{self, PgOid};
        let mut params = Params::default();
        let keys = params.bind(vec![Some("7".to_owned())]);
        let now = params.bind(1.5_f64);
        let id = params.bind(42_i64);
        assert_eq!([keys, now, id].map(|p| p.to_string()), ["$1", "$2", "$3"]);
        let types = params.types().into_iter().map(PgOid::value).collect::<Vec<_>>();
        assert_eq!(types, [pg_sys::TEXTARRAYOID, pg_sys::FLOAT8OID, pg_sys::INT8OID]);
        let sql = format!("SELECT ({keys}::text[])[1] || {now}::text || {id}::text");
        let got = Spi::connect(|client| {
            let rows = client.select(&sql, Some(1), params.args()).expect("query failed");
            rows.first().get_one::<String>().expect("read failed")
        });
        assert_eq!(got.as_deref(), Some("71.542"));
    }

    #[pg_test]
    fn decay_halves_each_half_life() {
        let cases = [
            ("SELECT lead_score.decay(10, '0 days', '30 days')", 10.0),
            ("SELECT lead_score.decay(10, '30 days', '30 days')", 5.0),
            ("SELECT lead_score.decay(10, '60 days', '30 days')", 2.5),
            ("SELECT lead_score.decay(-4, '1 day', '12 hours')", -1.0),
            ("SELECT lead_score.decay(10, '-1 day', '30 days')", 0.0),
            ("SELECT lead_score.decay(10, '1 year', '365 days 6 hours')", 5.0),
        ];
        for (sql, expected) in cases {
            let got = one_f64(sql);
            assert!((got - expected).abs() < 1e-12, "{sql}: got {got}, want {expected}");
        }
    }

    #[pg_test]
    fn decay_agrees_with_the_same_formula_in_sql() {
        let gap = one_f64(
            "SELECT max(abs(lead_score.decay(p, a, h) \
                            - p * power(2, -extract(epoch FROM a) / extract(epoch FROM h)))) \
             FROM generate_series(1, 50) AS p, \
                  (VALUES (interval '0'), ('1 hour'), ('3 days'), ('1 mon'), ('400 days')) AS ages(a), \
                  (VALUES (interval '1 day'), ('14 days'), ('30 days'), ('1 year')) AS half_lives(h)",
        );
        assert!(gap < 1e-9, "largest difference {gap}");
    }

    #[pg_test]
    fn decay_is_strict() {
        let got = Spi::get_one::<f64>("SELECT lead_score.decay(NULL, '1 day', '1 day')").unwrap();
        assert_eq!(got, None);
    }

    #[pg_test(error = "lead_score.decay: half-life must be positive, got 0 seconds")]
    fn decay_rejects_zero_half_life() {
        Spi::run("SELECT lead_score.decay(1, '1 day', '0 days')").unwrap();
    }

    #[pg_test]
    fn extension_objects_live_in_the_lead_score_schema() {
        // Functions of a pg_test build also live in the test-only schema `tests`.
        let outside = Spi::get_one::<i64>(
            "SELECT count(*) FROM pg_depend d JOIN pg_proc p ON d.objid = p.oid \
             WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_extension'::regclass \
               AND d.deptype = 'e' \
               AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_lead_score') \
               AND p.pronamespace NOT IN ('lead_score'::regnamespace, 'tests'::regnamespace)",
        )
        .unwrap()
        .unwrap();
        assert_eq!(outside, 0);
    }

    #[pg_test]
    fn the_schema_is_a_member_of_the_extension() {
        let member = Spi::get_one::<bool>(
            "SELECT EXISTS (SELECT FROM pg_depend \
              WHERE classid = 'pg_namespace'::regclass AND objid = 'lead_score'::regnamespace \
                AND refclassid = 'pg_extension'::regclass AND deptype = 'e' \
                AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_lead_score'))",
        )
        .unwrap();
        assert_eq!(member, Some(true));
    }

    #[pg_test]
    fn rule_problem_reports_the_json_path() {
        let problem = Spi::get_one::<String>(
            "SELECT lead_score.rule_problem('{\"kind\": \"fit\", \"when\": {\"field\": \"employees\", \
             \"op\": \"gte\", \"value\": \"abc\"}, \"points\": 10}')",
        )
        .unwrap();
        assert_eq!(
            problem.as_deref(),
            Some("$.when.value: operator \"gte\" needs a number, got \"abc\"")
        );
        let valid = Spi::get_one::<String>(
            "SELECT lead_score.rule_problem('{\"kind\": \"event\", \"event\": \"email_click\", \"points\": 1}')",
        )
        .unwrap();
        assert_eq!(valid, None);
    }

    #[pg_test]
    fn rule_matches_uses_the_given_time_or_the_transaction_start() {
        let rule = r#"{"kind": "fit", "when": {"field": "seen", "op": "within", "value": "1 day"}, "points": 1}"#;
        let at = |record: &str, at: &str| {
            Spi::get_one::<bool>(&format!(
                "SELECT lead_score.rule_matches('{rule}', '{record}', {at})"
            ))
            .unwrap()
            .unwrap()
        };
        assert!(at(r#"{"seen": "2024-05-31T12:00:00Z"}"#, "'2024-06-01 00:00+00'"));
        assert!(!at(r#"{"seen": "2024-05-30T12:00:00Z"}"#, "'2024-06-01 00:00+00'"));
        // NULL means now: a record seen an hour ago is within a day of now.
        let an_hour_ago = Spi::get_one::<String>(
            "SELECT to_char((now() - interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
        )
        .unwrap()
        .unwrap();
        assert!(at(&format!(r#"{{"seen": "{an_hour_ago}"}}"#), "NULL"));
    }

    #[pg_test(
        error = "invalid rule: $.kind: unknown rule kind \"bonus\"; expected \"fit\", \"event\" or \"disqualifier\""
    )]
    fn rule_matches_rejects_invalid_rules() {
        Spi::run("SELECT lead_score.rule_matches('{\"kind\": \"bonus\"}', '{}')").unwrap();
    }

    /// The acting role is the role calling, `current_user`: inside a SECURITY DEFINER
    /// function, its owner, not the role the session set.
    #[pg_test]
    fn acting_role_is_the_calling_role() {
        Spi::run(
            "CREATE ROLE lead_score_test_outer;
             CREATE ROLE lead_score_test_definer;
             CREATE FUNCTION public.lead_score_test_acting() RETURNS text LANGUAGE sql
                 SECURITY DEFINER SET search_path = pg_catalog, pg_temp
                 AS 'SELECT lead_score.acting_role() || ''/'' || current_user';
             ALTER FUNCTION public.lead_score_test_acting() OWNER TO lead_score_test_definer;
             SET ROLE lead_score_test_outer",
        )
        .unwrap();
        let seen = Spi::get_one::<String>(
            "SELECT public.lead_score_test_acting() || ' ' || lead_score.acting_role()",
        )
        .unwrap();
        Spi::run("RESET ROLE").unwrap();
        assert_eq!(
            seen.as_deref(),
            Some("lead_score_test_definer/lead_score_test_definer lead_score_test_outer")
        );
    }
}
