//! CloudWatch alarm calls (aws-sdk-cloudwatch pinned to the last awsQuery release; see
//! Cargo.toml): describe by name or by the action they trigger, read tags, put and delete.

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension as CwDimension, MetricDataQuery, StandardUnit, Statistic, Tag};
use futures::future::try_join_all;

use super::{Session, aws_error};
use crate::core::error::AwsError;
use crate::core::model::{Alarm, Dimension, Metric, MetricQuery, MetricStat};

fn dims(d: &[CwDimension]) -> Vec<Dimension> {
    d.iter().map(|d| Dimension { name: d.name().unwrap_or_default().into(), value: d.value().unwrap_or_default().into() }).collect()
}

fn cw_dims(d: &[Dimension]) -> Vec<CwDimension> {
    d.iter().map(|d| CwDimension::builder().name(&d.name).value(&d.value).build()).collect()
}

fn alarm(a: &aws_sdk_cloudwatch::types::MetricAlarm) -> Alarm {
    Alarm {
        alarm_name: a.alarm_name().unwrap_or_default().into(),
        alarm_arn: a.alarm_arn().map(str::to_string),
        alarm_description: a.alarm_description().map(str::to_string),
        actions_enabled: a.actions_enabled(),
        ok_actions: a.ok_actions().to_vec(),
        alarm_actions: a.alarm_actions().to_vec(),
        insufficient_data_actions: a.insufficient_data_actions().to_vec(),
        metric_name: a.metric_name().map(str::to_string),
        namespace: a.namespace().map(str::to_string),
        statistic: a.statistic().map(|s| s.as_str().to_string()),
        extended_statistic: a.extended_statistic().map(str::to_string),
        dimensions: dims(a.dimensions()),
        period: a.period(),
        unit: a.unit().map(|u| u.as_str().to_string()),
        evaluation_periods: a.evaluation_periods(),
        datapoints_to_alarm: a.datapoints_to_alarm(),
        threshold: a.threshold(),
        comparison_operator: a.comparison_operator().map(|c| c.as_str().to_string()),
        treat_missing_data: a.treat_missing_data().map(str::to_string),
        evaluate_low_sample_count_percentile: a.evaluate_low_sample_count_percentile().map(str::to_string),
        metrics: a
            .metrics()
            .iter()
            .map(|q| MetricQuery {
                id: q.id().unwrap_or_default().into(),
                expression: q.expression().map(str::to_string),
                label: q.label().map(str::to_string),
                return_data: q.return_data(),
                period: q.period(),
                account_id: q.account_id().map(str::to_string),
                metric_stat: q.metric_stat().map(|s| MetricStat {
                    metric: s
                        .metric()
                        .map(|m| Metric {
                            namespace: m.namespace().map(str::to_string),
                            metric_name: m.metric_name().map(str::to_string),
                            dimensions: dims(m.dimensions()),
                        })
                        .unwrap_or_default(),
                    period: s.period(),
                    stat: s.stat().map(str::to_string),
                    unit: s.unit().map(|u| u.as_str().to_string()),
                }),
            })
            .collect(),
        threshold_metric_id: a.threshold_metric_id().map(str::to_string),
        tags: Vec::new(),
    }
}

impl Session {
    async fn alarms_where(&self, names: Option<Vec<String>>, action_prefix: Option<&str>) -> Result<Vec<Alarm>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .cloudwatch
            .describe_alarms()
            .set_alarm_names(names)
            .set_action_prefix(action_prefix.map(str::to_string))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("cloudwatch:DescribeAlarms", e))?;
            out.extend(page.metric_alarms().iter().map(alarm));
        }
        Ok(out)
    }

    /// The metric alarms named `names` (100 per call) plus those whose alarm actions start with
    /// one of `action_prefixes` (a scaling policy ARN: the only way to find a step policy's
    /// alarms when the policy's own `Alarms` list is empty), each once, with their tags.
    pub async fn describe_alarms(&self, names: &[String], action_prefixes: &[String]) -> Result<Vec<Alarm>, AwsError> {
        let by_name = try_join_all(names.chunks(100).map(|chunk| self.alarms_where(Some(chunk.to_vec()), None)));
        let by_action = try_join_all(action_prefixes.iter().map(|p| self.alarms_where(None, Some(p))));
        let (by_name, by_action) = tokio::try_join!(by_name, by_action)?;
        let mut alarms: Vec<Alarm> = Vec::new();
        for a in by_name.into_iter().flatten().chain(by_action.into_iter().flatten()) {
            if !alarms.iter().any(|x| x.alarm_name == a.alarm_name) {
                alarms.push(a);
            }
        }
        let tags = try_join_all(alarms.iter().map(|a| self.alarm_tags(a.alarm_arn.as_deref()))).await?;
        for (a, t) in alarms.iter_mut().zip(tags) {
            a.tags = t;
        }
        Ok(alarms)
    }

    async fn alarm_tags(&self, arn: Option<&str>) -> Result<Vec<(String, String)>, AwsError> {
        let Some(arn) = arn else { return Ok(Vec::new()) };
        let out = self
            .cloudwatch
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| aws_error("cloudwatch:ListTagsForResource", e))?;
        Ok(out.tags().iter().map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string())).collect())
    }

    /// The names of the metric alarms whose names start with `prefix`.
    pub async fn alarm_names_with_prefix(&self, prefix: &str) -> Result<Vec<String>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self.cloudwatch.describe_alarms().alarm_name_prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("cloudwatch:DescribeAlarms", e))?;
            out.extend(page.metric_alarms().iter().filter_map(|a| a.alarm_name().map(str::to_string)));
        }
        Ok(out)
    }

    /// Creates or replaces the alarm.
    pub async fn put_metric_alarm(&self, a: &Alarm) -> Result<(), AwsError> {
        super::fence::check("cloudwatch:PutMetricAlarm")?;
        let metrics: Vec<MetricDataQuery> = a
            .metrics
            .iter()
            .map(|q| {
                MetricDataQuery::builder()
                    .id(&q.id)
                    .set_expression(q.expression.clone())
                    .set_label(q.label.clone())
                    .set_return_data(q.return_data)
                    .set_period(q.period)
                    .set_account_id(q.account_id.clone())
                    .set_metric_stat(q.metric_stat.as_ref().map(|s| {
                        aws_sdk_cloudwatch::types::MetricStat::builder()
                            .metric(
                                aws_sdk_cloudwatch::types::Metric::builder()
                                    .set_namespace(s.metric.namespace.clone())
                                    .set_metric_name(s.metric.metric_name.clone())
                                    .set_dimensions(Some(cw_dims(&s.metric.dimensions)))
                                    .build(),
                            )
                            .set_period(s.period)
                            .set_stat(s.stat.clone())
                            .set_unit(s.unit.as_deref().map(StandardUnit::from))
                            .build()
                    }))
                    .build()
            })
            .collect();
        let tags: Vec<Tag> = a.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        self.cloudwatch
            .put_metric_alarm()
            .alarm_name(&a.alarm_name)
            .set_alarm_description(a.alarm_description.clone())
            .set_actions_enabled(a.actions_enabled)
            .set_ok_actions(Some(a.ok_actions.clone()))
            .set_alarm_actions(Some(a.alarm_actions.clone()))
            .set_insufficient_data_actions(Some(a.insufficient_data_actions.clone()))
            .set_metric_name(a.metric_name.clone())
            .set_namespace(a.namespace.clone())
            .set_statistic(a.statistic.as_deref().map(Statistic::from))
            .set_extended_statistic(a.extended_statistic.clone())
            .set_dimensions((!a.dimensions.is_empty()).then(|| cw_dims(&a.dimensions)))
            .set_period(a.period)
            .set_unit(a.unit.as_deref().map(StandardUnit::from))
            .set_evaluation_periods(a.evaluation_periods)
            .set_datapoints_to_alarm(a.datapoints_to_alarm)
            .set_threshold(a.threshold)
            .set_comparison_operator(a.comparison_operator.as_deref().map(ComparisonOperator::from))
            .set_treat_missing_data(a.treat_missing_data.clone())
            .set_evaluate_low_sample_count_percentile(a.evaluate_low_sample_count_percentile.clone())
            .set_metrics((!metrics.is_empty()).then_some(metrics))
            .set_threshold_metric_id(a.threshold_metric_id.clone())
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .map_err(|e| aws_error("cloudwatch:PutMetricAlarm", e))?;
        Ok(())
    }

    /// The state of each named metric alarm: (name, `StateValue`, `StateReason`).
    pub async fn alarm_states(&self, names: &[String]) -> Result<Vec<(String, String, String)>, AwsError> {
        let pages = try_join_all(names.chunks(100).map(|chunk| async move {
            self.cloudwatch
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| aws_error("cloudwatch:DescribeAlarms", e))
        }))
        .await?;
        Ok(pages
            .iter()
            .flat_map(|p| p.metric_alarms())
            .map(|a| {
                let text = |s: Option<&str>| s.unwrap_or_default().to_string();
                (text(a.alarm_name()), a.state_value().map(|v| v.as_str().to_string()).unwrap_or_default(), text(a.state_reason()))
            })
            .collect())
    }

    /// Tags alarm `name` (PutMetricAlarm ignores `Tags` on an alarm that exists, so a retried or
    /// repeated put is followed by this).
    pub async fn tag_alarm(&self, name: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        super::fence::check("cloudwatch:TagResource")?;
        let partition = crate::core::config::partition(&self.region);
        let arn = format!("arn:{partition}:cloudwatch:{}:{}:alarm:{name}", self.region, self.account_id);
        let tags: Vec<Tag> = tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        self.cloudwatch
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| aws_error("cloudwatch:TagResource", e))?;
        Ok(())
    }

    /// Deletes alarms (missing names are ignored by CloudWatch).
    pub async fn delete_alarms(&self, names: &[String]) -> Result<(), AwsError> {
        super::fence::check("cloudwatch:DeleteAlarms")?;
        try_join_all(names.chunks(100).map(|chunk| async move {
            self.cloudwatch
                .delete_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| aws_error("cloudwatch:DeleteAlarms", e))
        }))
        .await?;
        Ok(())
    }
}
