//! Defects found by the typed-core review (#16), each fixed and held here: durations that
//! overflowed after AWS had been written, a store or listen failure reported as bad
//! configuration, and serve durations without bounds.

use crate::harness::{TestEnv, recorded};

#[tokio::test]
async fn durations_out_of_range_are_invalid_input_before_anything_is_written() {
    let env = TestEnv::new("defects_durations", false);
    let description = crate::scaling::description("overflow", None);
    let path = env.file("d.json", &description);
    for huge in ["18446744073709551615s", "18446744073709551615s1s", "99999999999h", "25h"] {
        let run = env.run(&["deploy", "--description", &path, "--wait", "--timeout", huge], None);
        assert_eq!(run.code, 2, "{huge}: {run:?}");
        let run = env.run(
            &[
                "rollback",
                "--account",
                "ecs-main",
                "--region",
                "us-west-2",
                "--restore",
                "a-v001",
                "--current",
                "a-v000",
                "--timeout",
                huge,
            ],
            None,
        );
        assert_eq!(run.code, 2, "{huge}: {run:?}");
        let run = env.run(&["cleanup", "--account", "ecs-main", "--region", "us-west-2", "--older-than", huge], None);
        assert!(run.code == 2 || huge == "25h", "{huge}: {run:?}");
    }
    assert!(recorded("RegisterTaskDefinition", "overflow-prod").is_empty(), "nothing was written");
    for lease in ["0s", "18446744073709551615s", "2h"] {
        let out = env.spawn_with_env(&["serve", "--store-file", "l.db", "--lease", lease], &[]).wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(2), "--lease {lease}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[tokio::test]
async fn an_unavailable_store_or_address_is_a_failure_not_a_configuration_error() {
    let env = TestEnv::new("defects_store", false);
    let out = env.spawn_with_env(&["serve", "--postgres-url", "postgres://nobody@127.0.0.1:9/none"], &[]).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("task store") && !stderr.contains("nothing was changed") && !stderr.contains("configuration"), "{stderr}");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let out = env.spawn_with_env(&["serve", "--listen", &address, "--store-file", "s.db"], &[]).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot listen") && !stderr.contains("configuration"), "{stderr}");
}
