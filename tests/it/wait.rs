//! The wait state machine against mocked ECS responses (aws-smithy-mocks): what the emulator
//! cannot show — rollouts in progress, circuit-breaker rollbacks, failed deployments, tasks
//! that keep stopping, and the timeout.

use std::time::Duration;

use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::types::{Container, Deployment, DeploymentRolloutState, Service, ServiceEvent, Task};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use ecs_deployer::aws::Session;
use ecs_deployer::core::error::Error;
use ecs_deployer::engine::lifecycle::{Progress, WaitOptions, wait_healthy};

const TD: &str = "arn:aws:ecs:us-west-2:123456789012:task-definition/app-prod:7";

#[derive(Default)]
struct Recorder {
    statuses: Vec<String>,
    events: Vec<String>,
}

impl Progress for Recorder {
    fn status(&mut self, line: &str) {
        self.statuses.push(line.to_string());
    }
    fn event(&mut self, message: &str) {
        self.events.push(message.to_string());
    }
    fn done(&mut self) {}
}

fn service(rollout: DeploymentRolloutState, running: i32, td: &str, failed: i32, events: &[(&str, &str)]) -> DescribeServicesOutput {
    let deployment = Deployment::builder()
        .id("ecs-svc/1")
        .status("PRIMARY")
        .task_definition(td)
        .desired_count(2)
        .running_count(running)
        .failed_tasks(failed)
        .rollout_state(rollout)
        .rollout_state_reason("reason from ECS")
        .build();
    let mut s = Service::builder()
        .service_name("app-prod-v007")
        .status("ACTIVE")
        .desired_count(2)
        .running_count(running)
        .pending_count(2 - running)
        .task_definition(td)
        .deployments(deployment);
    for (id, message) in events {
        s = s.events(ServiceEvent::builder().id(*id).message(*message).build());
    }
    DescribeServicesOutput::builder().services(s.build()).build()
}

fn wait_options(timeout_ms: u64) -> WaitOptions {
    WaitOptions { timeout: Duration::from_millis(timeout_ms), poll: Duration::from_millis(1), follow_deployment: false }
}

#[tokio::test]
async fn success_after_the_rollout_completes_with_events_once() {
    let rule = mock!(aws_sdk_ecs::Client::describe_services)
        .match_requests(|r| r.cluster() == Some("main") && r.services() == ["app-prod-v007"])
        .sequence()
        .output(|| service(DeploymentRolloutState::InProgress, 0, TD, 0, &[("e1", "has started 2 tasks")]))
        .output(|| service(DeploymentRolloutState::InProgress, 1, TD, 0, &[("e1", "has started 2 tasks")]))
        .output(|| {
            service(DeploymentRolloutState::Completed, 2, TD, 0, &[("e2", "has reached a steady state."), ("e1", "has started 2 tasks")])
        })
        .build();
    let session = Session::with_ecs_client(mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule]));
    let mut progress = Recorder::default();
    wait_healthy(&session, "main", "app-prod-v007", TD, wait_options(5000), &mut progress).await.unwrap();
    assert_eq!(rule.num_calls(), 3);
    assert_eq!(progress.events, vec!["has started 2 tasks", "has reached a steady state."]);
    assert_eq!(progress.statuses.len(), 2, "one line per change: {:?}", progress.statuses);
}

#[tokio::test]
async fn circuit_breaker_rollback_fails_fast() {
    let rule = mock!(aws_sdk_ecs::Client::describe_services)
        .sequence()
        .output(|| service(DeploymentRolloutState::InProgress, 0, TD, 0, &[]))
        .output(|| service(DeploymentRolloutState::Completed, 2, "arn:aws:ecs:us-west-2:123456789012:task-definition/app-prod:6", 0, &[]))
        .build();
    let session = Session::with_ecs_client(mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule]));
    let err = wait_healthy(&session, "main", "app-prod-v007", TD, wait_options(60_000), &mut Recorder::default()).await.unwrap_err();
    assert!(matches!(&err, Error::Failed { message, .. } if message.contains("rolled back") && message.contains("app-prod:6")), "{err:?}");
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn failed_deployment_fails_fast() {
    let rule = mock!(aws_sdk_ecs::Client::describe_services).then_output(|| service(DeploymentRolloutState::Failed, 0, TD, 0, &[]));
    let session = Session::with_ecs_client(mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]));
    let err = wait_healthy(&session, "main", "app-prod-v007", TD, wait_options(60_000), &mut Recorder::default()).await.unwrap_err();
    assert!(matches!(&err, Error::Failed { message, .. } if message.contains("failed: reason from ECS")), "{err:?}");
}

#[tokio::test]
async fn tasks_that_keep_stopping_fail_with_their_reason() {
    let describe = mock!(aws_sdk_ecs::Client::describe_services).then_output(|| service(DeploymentRolloutState::InProgress, 0, TD, 3, &[]));
    let list = mock!(aws_sdk_ecs::Client::list_tasks)
        .match_requests(|r| {
            r.service_name() == Some("app-prod-v007") && r.desired_status() == Some(&aws_sdk_ecs::types::DesiredStatus::Stopped)
        })
        .then_output(|| ListTasksOutput::builder().task_arns("t1").task_arns("t2").task_arns("t3").build());
    let tasks = mock!(aws_sdk_ecs::Client::describe_tasks).then_output(|| {
        let task = |arn: &str| {
            Task::builder()
                .task_arn(arn)
                .task_definition_arn(TD)
                .stopped_reason("Task failed to start")
                .containers(Container::builder().reason("CannotPullContainerError: pull access denied for app").build())
                .build()
        };
        DescribeTasksOutput::builder().tasks(task("t1")).tasks(task("t2")).tasks(task("t3")).build()
    });
    let session = Session::with_ecs_client(mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&describe, &list, &tasks]));
    let err = wait_healthy(&session, "main", "app-prod-v007", TD, wait_options(60_000), &mut Recorder::default()).await.unwrap_err();
    assert!(matches!(&err, Error::Failed { message, .. } if message.contains("CannotPullContainerError")), "{err:?}");
    assert_eq!(describe.num_calls(), 1, "failed at the first look, not at the timeout");
}

#[tokio::test]
async fn timeout_says_what_it_waited_for_and_last_saw() {
    let rule = mock!(aws_sdk_ecs::Client::describe_services).then_output(|| service(DeploymentRolloutState::InProgress, 1, TD, 0, &[]));
    let session = Session::with_ecs_client(mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]));
    let started = std::time::Instant::now();
    let err = wait_healthy(&session, "main", "app-prod-v007", TD, wait_options(300), &mut Recorder::default()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    let Error::Failed { message, .. } = &err else { panic!("{err:?}") };
    assert!(message.contains("timed out") && message.contains("rollout IN_PROGRESS (desired 2, running 1, pending 1)"), "{message}");
}
