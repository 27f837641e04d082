//! ECS calls: services (list, describe, create, update, delete), task definitions (register,
//! deregister, describe), a service's tasks and their hosts (for the read views), and account
//! settings.

use aws_sdk_ecs::types::{ServiceField, SettingName};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures::future::try_join_all;
use serde_json::Value;

use super::{CaptureBody, Session, aws_error, send_json};
use crate::core::error::AwsError;
use crate::core::model::{Deployment, ServiceEvent, ServiceState};

/// DescribeServices takes at most ten services per call.
const DESCRIBE_BATCH: usize = 10;

/// DescribeServices calls one fan-out keeps in flight at once (a cluster of thousands of
/// services is described 8 batches at a time, not hundreds at once).
const DESCRIBE_IN_FLIGHT: usize = 8;

fn epoch(t: Option<&aws_smithy_types::DateTime>) -> Option<i64> {
    t.map(|t| t.secs())
}

fn awsvpc(s: &aws_sdk_ecs::types::Service) -> Option<&aws_sdk_ecs::types::AwsVpcConfiguration> {
    s.network_configuration().and_then(|n| n.awsvpc_configuration())
}

fn service_state(s: &aws_sdk_ecs::types::Service) -> ServiceState {
    ServiceState {
        service_name: s.service_name().unwrap_or_default().to_string(),
        service_arn: s.service_arn().unwrap_or_default().to_string(),
        ecs_cluster_arn: s.cluster_arn().unwrap_or_default().to_string(),
        status: s.status().unwrap_or_default().to_string(),
        desired_count: s.desired_count().into(),
        running_count: s.running_count().into(),
        pending_count: s.pending_count().into(),
        task_definition: s.task_definition().unwrap_or_default().to_string(),
        created_at: epoch(s.created_at()),
        created_at_ms: s.created_at().and_then(|t| t.to_millis().ok()),
        tags: s.tags().iter().map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string())).collect(),
        deployments: s
            .deployments()
            .iter()
            .map(|d| Deployment {
                id: d.id().unwrap_or_default().to_string(),
                status: d.status().unwrap_or_default().to_string(),
                task_definition: d.task_definition().unwrap_or_default().to_string(),
                desired_count: d.desired_count().into(),
                running_count: d.running_count().into(),
                pending_count: d.pending_count().into(),
                failed_tasks: d.failed_tasks().into(),
                rollout_state: d.rollout_state().map(|r| r.as_str().to_string()),
                rollout_state_reason: d.rollout_state_reason().map(str::to_string),
            })
            .collect(),
        target_group_arns: s.load_balancers().iter().filter_map(|lb| lb.target_group_arn().map(str::to_string)).collect(),
        subnets: awsvpc(s).map(|c| c.subnets().to_vec()).unwrap_or_default(),
        security_groups: awsvpc(s).map(|c| c.security_groups().to_vec()).unwrap_or_default(),
        events: s
            .events()
            .iter()
            .map(|e| ServiceEvent {
                id: e.id().unwrap_or_default().to_string(),
                created_at: epoch(e.created_at()),
                message: e.message().unwrap_or_default().to_string(),
            })
            .collect(),
        current_service_deployment: s.current_service_deployment().map(str::to_string),
        deployment_alarm_names: s.deployment_configuration().and_then(|d| d.alarms()).map(|a| a.alarm_names().to_vec()).unwrap_or_default(),
    }
}

impl Session {
    /// Names of every service ListServices returns for the ECS cluster (ACTIVE and DRAINING).
    pub async fn list_service_names(&self, ecs_cluster: &str) -> Result<Vec<String>, AwsError> {
        let mut names = Vec::new();
        let mut pages = self.ecs.list_services().cluster(ecs_cluster).max_results(100).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("ecs:ListServices", e))?;
            names.extend(page.service_arns().iter().map(|arn| arn.rsplit('/').next().unwrap_or(arn).to_string()));
        }
        Ok(names)
    }

    /// Describes `names` in the ECS cluster, ten per call, all batches at once. Services that do
    /// not exist (DescribeServices reports them as `MISSING` failures) are left out.
    pub async fn describe_services(&self, ecs_cluster: &str, names: &[String], with_tags: bool) -> Result<Vec<ServiceState>, AwsError> {
        use futures::{FutureExt, StreamExt, TryStreamExt};
        let calls: Vec<futures::future::BoxFuture<'static, Result<_, AwsError>>> = names
            .chunks(DESCRIBE_BATCH)
            .map(|batch| {
                let mut req = self.ecs.describe_services().cluster(ecs_cluster).set_services(Some(batch.to_vec()));
                if with_tags {
                    req = req.include(ServiceField::Tags);
                }
                async move { req.send().await.map_err(|e| aws_error("ecs:DescribeServices", e)) }.boxed()
            })
            .collect();
        let outputs: Vec<_> = futures::stream::iter(calls).buffered(DESCRIBE_IN_FLIGHT).try_collect().await?;
        Ok(outputs.iter().flat_map(|o| o.services().iter().map(service_state)).collect())
    }

    /// Service `name` of the ECS cluster read whole, with its tags: the typed state and the raw
    /// DescribeServices entry (every member AWS returned, also ones this SDK does not model).
    pub async fn describe_service_whole(&self, ecs_cluster: &str, name: &str) -> Result<Option<(ServiceState, Value)>, AwsError> {
        let capture = CaptureBody::default();
        let out = self
            .ecs
            .describe_services()
            .cluster(ecs_cluster)
            .services(name)
            .include(ServiceField::Tags)
            .customize()
            .interceptor(capture.clone())
            .send()
            .await
            .map_err(|e| aws_error("ecs:DescribeServices", e))?;
        let raw = capture.json();
        let entries = raw.get("services").and_then(Value::as_array).cloned().unwrap_or_default();
        Ok(out.services().iter().zip(entries).map(|(s, entry)| (service_state(s), entry)).find(|(s, _)| s.status != "INACTIVE"))
    }

    /// DescribeServiceRevisions of `arns` (at most 20 per call), raw: the revisions found, and
    /// the ARNs AWS reports as failures (`MISSING`: created before revisions existed).
    pub async fn describe_service_revisions(&self, arns: &[String]) -> Result<(Vec<Value>, Vec<String>), AwsError> {
        let calls = arns.chunks(20).map(|batch| async move {
            let capture = CaptureBody::default();
            self.ecs
                .describe_service_revisions()
                .set_service_revision_arns(Some(batch.to_vec()))
                .customize()
                // An API refused here means "no revision data" (warned once): no retry storm.
                .config_override(aws_sdk_ecs::config::Config::builder().retry_config(aws_config::retry::RetryConfig::disabled()))
                .interceptor(capture.clone())
                .send()
                .await
                .map_err(|e| aws_error("ecs:DescribeServiceRevisions", e))?;
            Ok::<_, AwsError>(capture.json())
        });
        let pages = try_join_all(calls).await?;
        let list = |page: &Value, key: &str| page.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
        let found = pages.iter().flat_map(|p| list(p, "serviceRevisions")).collect();
        let failed = pages
            .iter()
            .flat_map(|p| list(p, "failures"))
            .filter_map(|f| f.get("arn").and_then(Value::as_str).map(str::to_string))
            .collect();
        Ok((found, failed))
    }

    /// The service's deployments, newest first (ListServiceDeployments), raw.
    pub async fn list_service_deployments(&self, ecs_cluster: &str, service: &str) -> Result<Vec<Value>, AwsError> {
        let capture = CaptureBody::default();
        self.ecs
            .list_service_deployments()
            .cluster(ecs_cluster)
            .service(service)
            .max_results(20)
            .customize()
            .config_override(aws_sdk_ecs::config::Config::builder().retry_config(aws_config::retry::RetryConfig::disabled()))
            .interceptor(capture.clone())
            .send()
            .await
            .map_err(|e| aws_error("ecs:ListServiceDeployments", e))?;
        Ok(capture.json().get("serviceDeployments").and_then(Value::as_array).cloned().unwrap_or_default())
    }

    /// DescribeServiceDeployments of one deployment, raw; None when AWS reports it missing. Not
    /// retried: a deployer that finds the API unavailable falls back at once.
    pub async fn describe_service_deployment(&self, arn: &str) -> Result<Option<Value>, AwsError> {
        let capture = CaptureBody::default();
        self.ecs
            .describe_service_deployments()
            .service_deployment_arns(arn)
            .customize()
            .config_override(aws_sdk_ecs::config::Config::builder().retry_config(aws_config::retry::RetryConfig::disabled()))
            .interceptor(capture.clone())
            .send()
            .await
            .map_err(|e| aws_error("ecs:DescribeServiceDeployments", e))?;
        Ok(capture.json().get("serviceDeployments").and_then(Value::as_array).and_then(|d| d.first().cloned()))
    }

    /// Service `name` as DescribeServices reports it in each of `ecs_clusters` that has it, all at
    /// once: (ECS cluster, service).
    pub async fn describe_in_each(
        &self,
        ecs_clusters: &[String],
        name: &str,
        with_tags: bool,
    ) -> Result<Vec<(String, ServiceState)>, AwsError> {
        use futures::{FutureExt, StreamExt, TryStreamExt};
        let names = vec![name.to_string()];
        let calls: Vec<futures::future::BoxFuture<'_, Result<_, AwsError>>> = ecs_clusters
            .iter()
            .map(|c| {
                let names = names.clone();
                async move { Ok::<_, AwsError>((c.clone(), self.describe_services(c, &names, with_tags).await?)) }.boxed()
            })
            .collect();
        let found: Vec<_> = futures::stream::iter(calls).buffered(DESCRIBE_IN_FLIGHT).try_collect().await?;
        Ok(found.into_iter().flat_map(|(c, services)| services.into_iter().map(move |s| (c.clone(), s))).collect())
    }

    /// True when both `serviceLongArnFormat` and `taskLongArnFormat` are enabled for the caller,
    /// which is what ECS requires for service tags (Clouddriver's `isTaggingEnabled`).
    pub async fn tagging_enabled(&self) -> Result<bool, AwsError> {
        let mut service = false;
        let mut task = false;
        let mut pages = self.ecs.list_account_settings().effective_settings(true).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("ecs:ListAccountSettings", e))?;
            for setting in page.settings() {
                let enabled = setting.value() == Some("enabled");
                match setting.name() {
                    Some(SettingName::ServiceLongArnFormat) => service = enabled,
                    Some(SettingName::TaskLongArnFormat) => task = enabled,
                    _ => {}
                }
            }
        }
        Ok(service && task)
    }

    /// Registers the task definition `body` (a RegisterTaskDefinition request); returns its ARN.
    ///
    /// RegisterTaskDefinition has no idempotency token, so the SDK's automatic retry could
    /// register a second revision after a response that was lost. It is sent without automatic
    /// retry instead; after a transient failure the family's newest revisions are checked for the
    /// one this request would have created (same containers, images and `SERVER_GROUP`) before
    /// sending it again.
    pub async fn register_task_definition(&self, body: &Value) -> Result<String, AwsError> {
        super::fence::check("ecs:RegisterTaskDefinition")?;
        let family = body.get("family").and_then(Value::as_str).unwrap_or_default().to_string();
        let mut last = None;
        for attempt in 0..4u32 {
            if attempt > 0 {
                tokio::time::sleep(super::initial_backoff() * (1 << attempt)).await;
                if let Some(arn) = self.find_registered(&family, body).await? {
                    return Ok(arn);
                }
            }
            let builder = self
                .ecs
                .register_task_definition()
                .family(family.clone())
                .customize()
                .config_override(aws_sdk_ecs::config::Builder::default().retry_config(aws_config::retry::RetryConfig::disabled()));
            let bytes: Vec<u8> = serde_json::to_vec(body).expect("a serde_json::Value always serialises");
            let sent = builder
                .mutate_request(move |req| {
                    let len = bytes.len();
                    *req.body_mut() = aws_smithy_types::body::SdkBody::from(bytes.clone());
                    req.headers_mut().insert("content-length", len.to_string());
                })
                .send()
                .await;
            match sent {
                Ok(out) => {
                    return out.task_definition().and_then(|t| t.task_definition_arn()).map(str::to_string).ok_or_else(|| AwsError {
                        operation: "ecs:RegisterTaskDefinition".into(),
                        code: None,
                        message: "no task definition ARN in the response".into(),
                    });
                }
                Err(e) => {
                    let transient = matches!(
                        &e,
                        aws_sdk_ecs::error::SdkError::TimeoutError(_)
                            | aws_sdk_ecs::error::SdkError::DispatchFailure(_)
                            | aws_sdk_ecs::error::SdkError::ResponseError(_)
                    ) || e.raw_response().is_some_and(|r| r.status().is_server_error())
                        || e.code().is_some_and(|c| c.contains("Throttl") || c == "ServerException");
                    let err = aws_error("ecs:RegisterTaskDefinition", e);
                    if !transient {
                        return Err(err);
                    }
                    last = Some(err);
                }
            }
        }
        Err(last.expect("at least one attempt failed"))
    }

    /// The ARNs of `family`'s ACTIVE revisions, newest first (one page: at most `max`, else 100).
    async fn newest_active_revisions(&self, family: &str, max: Option<i32>) -> Result<Vec<String>, AwsError> {
        Ok(self
            .ecs
            .list_task_definitions()
            .family_prefix(family)
            .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
            .sort(aws_sdk_ecs::types::SortOrder::Desc)
            .set_max_results(max)
            .send()
            .await
            .map_err(|e| aws_error("ecs:ListTaskDefinitions", e))?
            .task_definition_arns
            .unwrap_or_default())
    }

    /// The ACTIVE revision of `family` that `body` registered, if a lost response hid it.
    pub async fn find_registered(&self, family: &str, body: &Value) -> Result<Option<String>, AwsError> {
        let arns = self.newest_active_revisions(family, None).await?;
        let mut newest: Vec<&String> = arns.iter().collect();
        newest.sort_by_key(|a| std::cmp::Reverse(a.rsplit(':').next().and_then(|r| r.parse::<u64>().ok()).unwrap_or(0)));
        // Containers by name, image and SERVER_GROUP: unique to the deploy that sent `body`.
        let wanted: Vec<(String, String, String)> = body
            .get("containerDefinitions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| {
                let env = c.get("environment").and_then(Value::as_array).into_iter().flatten();
                let server_group = env
                    .filter(|e| e.get("name").and_then(Value::as_str) == Some("SERVER_GROUP"))
                    .filter_map(|e| e.get("value").and_then(Value::as_str))
                    .next_back();
                (
                    c.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
                    c.get("image").and_then(Value::as_str).unwrap_or_default().to_string(),
                    server_group.unwrap_or_default().to_string(),
                )
            })
            .collect();
        for arn in newest.into_iter().take(3) {
            let out = self
                .ecs
                .describe_task_definition()
                .task_definition(arn)
                .send()
                .await
                .map_err(|e| aws_error("ecs:DescribeTaskDefinition", e))?;
            let Some(td) = out.task_definition() else { continue };
            let have: Vec<(String, String, String)> = td
                .container_definitions()
                .iter()
                .map(|c| {
                    let sg = c.environment().iter().filter(|e| e.name() == Some("SERVER_GROUP")).filter_map(|e| e.value()).next_back();
                    (
                        c.name().unwrap_or_default().to_string(),
                        c.image().unwrap_or_default().to_string(),
                        sg.unwrap_or_default().to_string(),
                    )
                })
                .collect();
            if have == wanted {
                return Ok(td.task_definition_arn().map(str::to_string));
            }
        }
        Ok(None)
    }

    /// The ACTIVE revisions of `family` (its newest 20) whose containers name `server_group` in
    /// their SERVER_GROUP variable: what is left of a server group whose service is gone.
    pub async fn active_task_definitions_of(&self, family: &str, server_group: &str) -> Result<Vec<String>, AwsError> {
        let arns = self.newest_active_revisions(family, Some(20)).await?;
        let described = try_join_all(arns.iter().map(|arn| async move {
            self.ecs.describe_task_definition().task_definition(arn).send().await.map_err(|e| aws_error("ecs:DescribeTaskDefinition", e))
        }))
        .await?;
        let names_it = |td: &aws_sdk_ecs::types::TaskDefinition| {
            td.container_definitions()
                .iter()
                .flat_map(|c| c.environment())
                .any(|e| e.name() == Some("SERVER_GROUP") && e.value() == Some(server_group))
        };
        Ok(described
            .iter()
            .filter_map(|out| out.task_definition())
            .filter(|td| names_it(td))
            .filter_map(|td| td.task_definition_arn().map(str::to_string))
            .collect())
    }

    /// The task definition's containers: (name, image).
    pub async fn task_definition_images(&self, task_definition: &str) -> Result<Vec<(String, String)>, AwsError> {
        let out = self
            .ecs
            .describe_task_definition()
            .task_definition(task_definition)
            .send()
            .await
            .map_err(|e| aws_error("ecs:DescribeTaskDefinition", e))?;
        let containers = out.task_definition().map(|t| t.container_definitions().to_vec()).unwrap_or_default();
        Ok(containers.iter().map(|c| (c.name().unwrap_or_default().to_string(), c.image().unwrap_or_default().to_string())).collect())
    }

    /// The task definition's status (ACTIVE, INACTIVE, DELETE_IN_PROGRESS), None when it does not exist.
    pub async fn task_definition_status(&self, task_definition: &str) -> Result<Option<String>, AwsError> {
        match self.ecs.describe_task_definition().task_definition(task_definition).send().await {
            Ok(out) => Ok(out.task_definition().and_then(|t| t.status()).map(|s| s.as_str().to_string())),
            Err(e) => {
                let err = aws_error("ecs:DescribeTaskDefinition", e);
                if err.is("ClientException") { Ok(None) } else { Err(err) }
            }
        }
    }

    pub async fn deregister_task_definition(&self, task_definition_arn: &str) -> Result<(), AwsError> {
        super::fence::check("ecs:DeregisterTaskDefinition")?;
        self.ecs
            .deregister_task_definition()
            .task_definition(task_definition_arn)
            .send()
            .await
            .map_err(|e| aws_error("ecs:DeregisterTaskDefinition", e))?;
        Ok(())
    }

    /// Creates the service `body` (a CreateService request); returns the service as created.
    pub async fn create_service(&self, body: &Value) -> Result<ServiceState, AwsError> {
        super::fence::check("ecs:CreateService")?;
        let name = body.get("serviceName").and_then(Value::as_str).unwrap_or_default().to_string();
        let out = send_json!(self.ecs.create_service().service_name(name), body).map_err(|e| aws_error("ecs:CreateService", e))?;
        out.service().map(service_state).ok_or_else(|| AwsError {
            operation: "ecs:CreateService".into(),
            code: None,
            message: "no service in the response".into(),
        })
    }

    /// Adds `tags` to the ECS resource `arn` (a service).
    pub async fn tag_resource(&self, arn: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        super::fence::check("ecs:TagResource")?;
        let tags: Vec<aws_sdk_ecs::types::Tag> =
            tags.iter().map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build()).collect();
        self.ecs.tag_resource().resource_arn(arn).set_tags(Some(tags)).send().await.map_err(|e| aws_error("ecs:TagResource", e))?;
        Ok(())
    }

    /// Removes the tag `key` from the ECS resource `arn` (a service).
    pub async fn untag_resource(&self, arn: &str, key: &str) -> Result<(), AwsError> {
        super::fence::check("ecs:UntagResource")?;
        self.ecs.untag_resource().resource_arn(arn).tag_keys(key).send().await.map_err(|e| aws_error("ecs:UntagResource", e))?;
        Ok(())
    }

    pub async fn update_desired_count(&self, ecs_cluster: &str, service: &str, desired: i64) -> Result<ServiceState, AwsError> {
        super::fence::check("ecs:UpdateService")?;
        let out = self
            .ecs
            .update_service()
            .cluster(ecs_cluster)
            .service(service)
            .desired_count(desired.clamp(0, i32::MAX as i64) as i32)
            .send()
            .await
            .map_err(|e| aws_error("ecs:UpdateService", e))?;
        Ok(out.service().map(service_state).unwrap_or_default())
    }

    pub async fn delete_service(&self, ecs_cluster: &str, service: &str) -> Result<(), AwsError> {
        super::fence::check("ecs:DeleteService")?;
        self.ecs.delete_service().cluster(ecs_cluster).service(service).send().await.map_err(|e| aws_error("ecs:DeleteService", e))?;
        Ok(())
    }

    /// Names of the account's ECS clusters in this region.
    pub async fn list_ecs_clusters(&self) -> Result<Vec<String>, AwsError> {
        let mut names = Vec::new();
        let mut pages = self.ecs.list_clusters().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("ecs:ListClusters", e))?;
            names.extend(page.cluster_arns().iter().map(|arn| arn.rsplit('/').next().unwrap_or(arn).to_string()));
        }
        Ok(names)
    }

    /// Recently stopped tasks of a service, with their stop reasons.
    pub async fn stopped_tasks(&self, ecs_cluster: &str, service: &str) -> Result<Vec<crate::core::model::StoppedTask>, AwsError> {
        let arns = self
            .ecs
            .list_tasks()
            .cluster(ecs_cluster)
            .service_name(service)
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
            .send()
            .await
            .map_err(|e| aws_error("ecs:ListTasks", e))?
            .task_arns
            .unwrap_or_default();
        if arns.is_empty() {
            return Ok(Vec::new());
        }
        let calls = arns.chunks(100).map(|chunk| {
            let req = self.ecs.describe_tasks().cluster(ecs_cluster).set_tasks(Some(chunk.to_vec()));
            async move { req.send().await.map_err(|e| aws_error("ecs:DescribeTasks", e)) }
        });
        let outs = try_join_all(calls).await?;
        Ok(outs
            .iter()
            .flat_map(|o| o.tasks())
            .map(|t| crate::core::model::StoppedTask {
                task_arn: t.task_arn().unwrap_or_default().to_string(),
                task_definition: t.task_definition_arn().unwrap_or_default().to_string(),
                stopped_reason: t.stopped_reason().unwrap_or_default().to_string(),
                container_reasons: t.containers().iter().filter_map(|c| c.reason().map(str::to_string)).collect(),
                stop_code: t.stop_code().map(|c| c.as_str().to_string()),
                exit_codes: t.containers().iter().filter_map(|c| Some((c.name()?.to_string(), c.exit_code()?))).collect(),
            })
            .collect())
    }

    /// The service's tasks that ECS means to keep running (ListTasks with `serviceName` and
    /// desired status RUNNING, in the service's own ECS cluster: Decisions D5), as the JSON
    /// DescribeTasks returned, 100 per call, all batches at once.
    pub async fn running_tasks(&self, ecs_cluster: &str, service: &str) -> Result<Vec<Value>, AwsError> {
        let mut arns = Vec::new();
        let mut pages = self
            .ecs
            .list_tasks()
            .cluster(ecs_cluster)
            .service_name(service)
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Running)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            arns.extend(page.map_err(|e| aws_error("ecs:ListTasks", e))?.task_arns().iter().cloned());
        }
        let calls = arns.chunks(100).map(|chunk| {
            let capture = CaptureBody::default();
            let req =
                self.ecs.describe_tasks().cluster(ecs_cluster).set_tasks(Some(chunk.to_vec())).customize().interceptor(capture.clone());
            async move {
                req.send().await.map_err(|e| aws_error("ecs:DescribeTasks", e))?;
                Ok::<_, AwsError>(capture.json().get("tasks").and_then(Value::as_array).cloned().unwrap_or_default())
            }
        });
        Ok(try_join_all(calls).await?.into_iter().flatten().collect())
    }

    /// The `group` (`service:NAME`, `family:…`) of each of `task_ids` found in the ECS cluster.
    pub async fn task_groups(&self, ecs_cluster: &str, task_ids: &[String]) -> Result<Vec<String>, AwsError> {
        let out = self
            .ecs
            .describe_tasks()
            .cluster(ecs_cluster)
            .set_tasks(Some(task_ids.to_vec()))
            .send()
            .await
            .map_err(|e| aws_error("ecs:DescribeTasks", e))?;
        Ok(out.tasks().iter().filter_map(|t| t.group().map(str::to_string)).collect())
    }

    /// A task definition as the JSON DescribeTaskDefinition returned (its `taskDefinition`).
    pub async fn task_definition_json(&self, task_definition: &str) -> Result<Value, AwsError> {
        let capture = CaptureBody::default();
        self.ecs
            .describe_task_definition()
            .task_definition(task_definition)
            .customize()
            .interceptor(capture.clone())
            .send()
            .await
            .map_err(|e| aws_error("ecs:DescribeTaskDefinition", e))?;
        Ok(capture.json().get("taskDefinition").cloned().unwrap_or(Value::Null))
    }

    /// The EC2 instance behind each container instance ARN (for `bridge`/`host` tasks, whose
    /// targets are registered by instance id), 100 per call.
    pub async fn container_instance_hosts(&self, ecs_cluster: &str, arns: &[String]) -> Result<Vec<(String, String)>, AwsError> {
        let calls = arns.chunks(100).map(|chunk| {
            let req = self.ecs.describe_container_instances().cluster(ecs_cluster).set_container_instances(Some(chunk.to_vec()));
            async move { req.send().await.map_err(|e| aws_error("ecs:DescribeContainerInstances", e)) }
        });
        let outs = try_join_all(calls).await?;
        Ok(outs
            .iter()
            .flat_map(|o| o.container_instances())
            .filter_map(|c| Some((c.container_instance_arn()?.to_string(), c.ec2_instance_id()?.to_string())))
            .collect())
    }
}
