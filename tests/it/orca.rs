//! The Orca conformance suite: `serve` driven through the task sequences of Orca's Deploy
//! (red/black), Rollback Cluster and Disable/Enable/Resize/Destroy stages
//! (`clouddriver-read-api.md` §2), with Orca's conclusions implemented here — source resolution,
//! `isActive`, HealthHelper's up and down rules, target selection, the waits' completion rules —
//! and each stage asserted to complete. The harness plays ECS's scheduler between the steps.

use serde_json::{Value, json};

use crate::deploy::fargate;
use crate::harness::TestEnv;
use crate::read_api::{deployed, down_for_orca, up_for_orca};
use crate::serve::Server;

const REGION: &str = "us-west-2";

/// Orca's reads and operations against one `serve`.
struct Orca<'a> {
    server: &'a Server,
    env: &'a TestEnv,
}

impl Orca<'_> {
    fn get(&self, path: &str) -> Option<Value> {
        match self.server.request("GET", path, "") {
            (200, body) => Some(body),
            (404, _) => None,
            (status, body) => panic!("GET {path}: {status} {body}"),
        }
    }

    /// R1: the cluster's server groups, None on 404.
    fn cluster(&self, app: &str, cluster: &str) -> Option<Vec<Value>> {
        let body = self.get(&format!("/applications/{app}/clusters/ecs-main/{cluster}/ecs"))?;
        Some(body["serverGroups"].as_array().unwrap().clone())
    }

    /// R2.
    fn server_group(&self, name: &str) -> Option<Value> {
        self.get(&format!("/serverGroups/ecs-main/{REGION}/{name}"))
    }

    /// R4, as `determineTargetServerGroup` asks.
    fn target(&self, app: &str, cluster: &str, target: &str) -> Value {
        self.get(&format!("/applications/{app}/clusters/ecs-main/{cluster}/ecs/{REGION}/serverGroups/target/{target}")).expect("a target")
    }

    /// Posts one operation (as KatoRestService does), polls `/task/{id}` until it ends
    /// (monitorKatoTask), then forces a cache refresh, which must succeed at once (a 200).
    fn run(&self, operation: &str, description: Value) -> Value {
        let (task, _) = self.server.wait(&self.server.submit(&json!([{ operation: description }])));
        assert_eq!(task["status"]["completed"], true, "{task}");
        assert_eq!(task["status"]["failed"], false, "{operation}: {task}");
        let body = json!({"serverGroupName": description["serverGroupName"], "region": REGION, "account": "ecs-main"});
        let (status, refreshed) = self.server.post("/cache/ecs/ServerGroup", &body);
        assert_eq!((status, refreshed), (200, json!({"cachedIdentifiersByType": {}})), "forceCacheRefresh succeeds on the first post");
        task
    }

    /// The harness plays ECS for the service after a write.
    async fn ecs_settles(&self, name: &str) {
        self.env.aws().await.reconcile(name).await;
    }

    /// An Orca wait task: polls R2 until `done` holds (Orca polls every few seconds; views are
    /// reused for the read TTL, so ECS's own changes show within it). The last view.
    fn wait_for(&self, name: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let sg = self.server_group(name).unwrap_or(Value::Null);
            if !sg.is_null() && done(&sg) {
                return sg;
            }
            assert!(std::time::Instant::now() < deadline, "{what} never completed: {sg}");
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
    }
}

/// `AbstractInstancesCheckTask` + `WaitForUpInstancesTask`: enough instances, enough of them up.
fn up_instances_done(sg: &Value) -> bool {
    let Some(desired) = sg["capacity"]["desired"].as_u64() else { return false };
    let instances = sg["instances"].as_array().unwrap();
    instances.len() as u64 >= desired && instances.iter().filter(|i| up_for_orca(i)).count() as u64 >= desired
}

/// `WaitForRequiredInstancesDownTask` / the disable-cluster wait: every instance down (none is fine).
fn down_instances_done(sg: &Value) -> bool {
    let instances = sg["instances"].as_array().unwrap();
    instances.iter().filter(|i| down_for_orca(i)).count() >= instances.len()
}

/// `AbstractClusterWideClouddriverTask.isActive`.
fn is_active(sg: &Value) -> bool {
    sg["disabled"] == false || sg["instances"].as_array().unwrap().iter().any(|i| i["healthState"] == "Up")
}

fn name_of(sg: &Value) -> String {
    sg["name"].as_str().unwrap().to_string()
}

/// `SourceResolver`: the stage region's groups by `createdTime`, enabled preferred; with
/// `useSourceCapacity` the largest (ties: the oldest), else the newest.
fn resolve_source(groups: &[Value], use_source_capacity: bool) -> Option<Value> {
    let mut in_region: Vec<&Value> = groups.iter().filter(|sg| sg["region"] == REGION).collect();
    in_region.sort_by_key(|sg| sg["createdTime"].as_i64().unwrap());
    let enabled: Vec<&Value> = in_region.iter().copied().filter(|sg| sg["disabled"] == false).collect();
    let mut pool = if enabled.is_empty() { in_region } else { enabled };
    if use_source_capacity {
        let size = |sg: &Value| sg["instances"].as_array().unwrap().len();
        pool.sort_by(|a, b| size(a).cmp(&size(b)).then(b["createdTime"].as_i64().cmp(&a["createdTime"].as_i64())));
    }
    pool.last().map(|sg| (*sg).clone())
}

fn identify(name: &str) -> Value {
    json!({"serverGroupName": name, "asgName": name, "region": REGION, "regions": [REGION], "credentials": "ecs-main", "cloudProvider": "ecs"})
}

#[tokio::test]
async fn a_red_black_deploy_runs_to_the_end_as_orca_drives_it() {
    let env = TestEnv::new("orca_red_black", false);
    let old = deployed(&env, "orcarb", json!({"min": 1, "max": 4, "desired": 2})).await;
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    let orca = Orca { server: &server, env: &env };

    // Planning: /features/stages answers, without entity tags.
    let stages = orca.get("/features/stages").unwrap();
    assert!(stages.as_array().unwrap().iter().all(|s| s["name"] != "upsertEntityTags"), "{stages}");

    // determineSourceServerGroup, with useSourceCapacity.
    let groups = orca.cluster("orcarb", "orcarb-web").expect("the cluster exists");
    let source = resolve_source(&groups, true).expect("a source");
    assert_eq!(name_of(&source), old);
    assert_eq!(resolve_source(&groups, false).map(|sg| name_of(&sg)), Some(old.clone()));

    // createServerGroup with the source, monitorDeploy, forceCacheRefresh.
    let mut description = fargate("orcarb");
    description["source"] =
        json!({"account": "ecs-main", "region": REGION, "asgName": old, "serverGroupName": old, "useSourceCapacity": true});
    let task = orca.run("createServerGroup", description);
    let new = task["resultObjects"][0]["serverGroupNameByRegion"][REGION].as_str().expect("deploy.server.groups").to_string();
    assert_eq!(new, "orcarb-web-v001");

    // waitForUpInstances: not done while ECS has started nothing, done once its tasks are up.
    let before = orca.server_group(&new).expect("R2 finds the service just created");
    assert_eq!(before["capacity"]["desired"], 2, "the source's capacity: {before}");
    assert!(!up_instances_done(&before), "no instances yet: {before}");
    orca.ecs_settles(&new).await;
    orca.wait_for(&new, "waitForUpInstances", up_instances_done);

    // disableCluster: every active group but the new (and newer) ones, then its wait.
    let groups = orca.cluster("orcarb", "orcarb-web").unwrap();
    let new_created = groups.iter().find(|sg| sg["name"] == new.as_str()).unwrap()["createdTime"].as_i64().unwrap();
    let to_disable: Vec<String> = groups
        .iter()
        .filter(|sg| sg["name"] != new.as_str() && sg["createdTime"].as_i64().unwrap() <= new_created && is_active(sg))
        .map(name_of)
        .collect();
    assert_eq!(to_disable, vec![old.clone()]);
    orca.run("disableServerGroup", identify(&old));
    orca.ecs_settles(&old).await;
    orca.wait_for(&old, "the stopped tasks to show", |sg| sg["instances"] == json!([]));
    let groups = orca.cluster("orcarb", "orcarb-web").unwrap();
    let old_view = groups.iter().find(|sg| sg["name"] == old.as_str()).unwrap();
    assert!(down_instances_done(old_view) && old_view["disabled"] == true, "waitForClusterDisable completes: {old_view}");
    assert!(!is_active(old_view));

    // scaleDownCluster: non-active groups but the newest to 0/0/0, then instances empty.
    orca.run(
        "resizeServerGroup",
        json!({"capacity": {"min": 0, "max": 0, "desired": 0}, "serverGroupName": old, "region": REGION, "credentials": "ecs-main"}),
    );
    orca.ecs_settles(&old).await;
    let old_view = orca.wait_for(&old, "waitForScaleDownCluster", |sg| sg["instances"] == json!([]));
    assert_eq!(old_view["capacity"], json!({"min": 0, "max": 0, "desired": 0, "pinned": true}));

    // shrinkCluster (maxRemainingAsgs 1): the newest stays, non-active older ones are destroyed;
    // its wait is done when they are gone from the cluster.
    let mut groups = orca.cluster("orcarb", "orcarb-web").unwrap();
    groups.sort_by_key(|sg| std::cmp::Reverse(sg["createdTime"].as_i64().unwrap()));
    let to_destroy: Vec<String> = groups.iter().skip(1).filter(|sg| !is_active(sg)).map(name_of).collect();
    assert_eq!(to_destroy, vec![old.clone()]);
    orca.run("destroyServerGroup", identify(&old));
    let remaining: Vec<String> = orca.cluster("orcarb", "orcarb-web").unwrap().iter().map(name_of).collect();
    assert_eq!(remaining, vec![new], "waitForClusterShrink completes");
}

#[tokio::test]
async fn disable_enable_resize_destroy_with_dynamic_targets_complete_their_waits() {
    let env = TestEnv::new("orca_lifecycle", false);
    let name = deployed(&env, "orcalc", json!({"min": 1, "max": 3, "desired": 2})).await;
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    let orca = Orca { server: &server, env: &env };
    let target = orca.target("orcalc", "orcalc-web", "current_asg_dynamic");
    assert_eq!(name_of(&target), name);
    for key in ["min", "max", "desired"] {
        assert!(target["capacity"][key].is_i64(), "persisting the target reads every capacity field as an int: {target}");
    }

    // A static target (serverGroupName set): R3 without a region, the element in the stage's region.
    let named = orca.get(&format!("/applications/orcalc/clusters/ecs-main/orcalc-web/ecs/serverGroups/{name}")).unwrap();
    let in_region: Vec<&Value> = named.as_array().expect("an array").iter().filter(|sg| sg["region"] == REGION).collect();
    assert_eq!(in_region.len(), 1);
    assert_eq!(name_of(in_region[0]), name);

    // Resize (scale_exact reads R2's capacity first), then waitForCapacityMatch.
    assert!(orca.server_group(&name).unwrap()["capacity"]["desired"].is_i64());
    orca.run(
        "resizeServerGroup",
        json!({"capacity": {"min": 1, "max": 3, "desired": 3}, "serverGroupName": name, "region": REGION, "credentials": "ecs-main"}),
    );
    orca.ecs_settles(&name).await;
    orca.wait_for(&name, "waitForCapacityMatch (sizes match, an enabled group's instances up)", |sg| {
        sg["instances"].as_array().unwrap().len() == 3 && up_instances_done(sg)
    });

    // Disable: waitForDownInstances, then waitForServerGroupDisabled (a non-null `disabled`).
    orca.run("disableServerGroup", identify(&name));
    orca.ecs_settles(&name).await;
    orca.wait_for(&name, "waitForDownInstances", |sg| down_instances_done(sg) && sg["instances"] == json!([]));
    assert_eq!(orca.server_group(&name).unwrap()["disabled"], true, "waitForServerGroupDisabled");

    // Enable: ECS sets desired to the scalable target's max; waitForUpInstances on it.
    orca.run("enableServerGroup", identify(&name));
    orca.ecs_settles(&name).await;
    let sg = orca.wait_for(&name, "waitForUpInstances", up_instances_done);
    assert_eq!((sg["disabled"].clone(), sg["capacity"]["desired"].clone()), (json!(false), json!(3)));

    // Destroy (after its disable): waitForDestroyedServerGroup is done on a 404 cluster.
    orca.run("disableServerGroup", identify(&name));
    orca.run("destroyServerGroup", identify(&name));
    assert!(orca.server_group(&name).is_none(), "R2 is a 404 once it is destroyed");
    assert!(orca.cluster("orcalc", "orcalc-web").is_none(), "R1 is a 404: the wait completes");
}

#[tokio::test]
async fn rollback_cluster_picks_its_candidates_and_rolls_back_explicitly() {
    let env = TestEnv::new("orca_rollback", false);
    let previous = deployed(&env, "orcarl", json!({"min": 1, "max": 2, "desired": 1})).await;
    let current = deployed(&env, "orcarl", json!({"min": 2, "max": 2, "desired": 2})).await;
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    let orca = Orca { server: &server, env: &env };

    // determineRollbackCandidates: R2 for the moniker, R1 for the cluster, newest first.
    let moniker = orca.server_group(&current).unwrap()["moniker"].clone();
    assert_eq!(moniker["cluster"], "orcarl-web");
    let mut groups = orca.cluster(moniker["app"].as_str().unwrap(), moniker["cluster"].as_str().unwrap()).unwrap();
    groups.sort_by_key(|sg| std::cmp::Reverse(sg["createdTime"].as_i64().expect("createdTime is never null")));
    let enabled: Vec<&Value> = groups.iter().filter(|sg| sg["disabled"] != true).collect();
    assert!(groups.len() >= 2 && !enabled.is_empty());
    let (rollback, restore) = (name_of(enabled[0]), name_of(enabled[1]));
    assert_eq!((rollback.as_str(), restore.as_str()), (current.as_str(), previous.as_str()));
    let desired = enabled[0]["capacity"]["desired"].as_i64().unwrap();
    assert_eq!(
        if desired < 10 {
            100
        } else if desired < 20 {
            90
        } else {
            95
        },
        100,
        "targetHealthyRollbackPercentage"
    );

    // ExplicitRollback: capture, enable the restore group, resize it to the larger capacity,
    // disable the rolled-back group, apply the captured capacity; with Orca's waits between.
    let snapshot = orca.server_group(&restore).unwrap()["capacity"].clone();
    let rolled = orca.server_group(&rollback).unwrap();
    assert_eq!(rolled["credentials"], "ecs-main", "explicit rollback's resize context reads credentials");
    orca.run("enableServerGroup", identify(&restore));
    let max = rolled["capacity"]["desired"].as_i64().unwrap().max(snapshot["desired"].as_i64().unwrap());
    orca.run("resizeServerGroup", json!({"capacity": {"min": max, "max": max, "desired": max}, "serverGroupName": restore, "region": REGION, "credentials": "ecs-main"}));
    orca.ecs_settles(&restore).await;
    orca.wait_for(&restore, "the restored group up before the current one is disabled", up_instances_done);
    orca.run("disableServerGroup", identify(&rollback));
    orca.ecs_settles(&rollback).await;
    let min = snapshot["min"].as_i64().unwrap().min(max);
    orca.run("resizeServerGroup", json!({"capacity": {"min": min, "max": max, "desired": max}, "serverGroupName": restore, "region": REGION, "credentials": "ecs-main"}));
    let rolled = orca.wait_for(&rollback, "waitForDownInstances", |sg| sg["instances"] == json!([]));
    let restored = orca.wait_for(&restore, "waitForUpInstances", up_instances_done);
    assert_eq!((restored["disabled"].clone(), rolled["disabled"].clone()), (json!(false), json!(true)));
    assert!(down_instances_done(&rolled));
    assert_eq!(orca.target("orcarl", "orcarl-web", "current_asg_dynamic?onlyEnabled=true")["name"], restore.as_str());
}
