//! A new version of a server group from the Clouddriver description that created it (the
//! console's "Deploy new version"): which stored task created the group, the description posted
//! for that account and region, the images the person may replace, and the `createServerGroup`
//! that deploys the new version with the old one as its source. The stored operations are the
//! JSON that was posted — an edge — and are read here, once, into these answers. Pure.

use crate::core::operation::Operation;
use serde_json::{Map, Value, json};

use crate::core::view::ContainerView;

/// Whether a task's result object says it created `region:name` in `account`.
pub fn created(result: &Value, account: &str, region: &str, name: &str) -> bool {
    let qualified = json!(format!("{region}:{name}"));
    result.get("account").and_then(Value::as_str) == Some(account)
        && result.get("serverGroupNames").and_then(Value::as_array).is_some_and(|names| names.contains(&qualified))
}

/// The `createServerGroup` description of a stored operations list that deploys in `account`
/// and `region`.
pub fn description_for(operations: &Value, account: &str, region: &str) -> Option<Value> {
    let described_here = |d: &&Value| {
        let named = d.get("credentials").or_else(|| d.get("account")).and_then(Value::as_str) == Some(account);
        named && d.get("availabilityZones").and_then(Value::as_object).is_some_and(|z| z.contains_key(region))
    };
    operations.as_array()?.iter().filter_map(|op| op.get(Operation::CreateServerGroup.name())).find(described_here).cloned()
}

fn artifact_mode(description: &Value) -> bool {
    description.get("useTaskDefinitionArtifact").and_then(Value::as_bool) == Some(true)
}

/// The images a new version may replace, with the ones running now: the artifact's mapped
/// containers, or the one image of inputs mode (field `image`).
pub fn image_fields(description: &Value, containers: &[ContainerView], image: &str) -> Vec<(String, String)> {
    if !artifact_mode(description) {
        return vec![("image".into(), image.to_string())];
    }
    let mapped: Vec<String> =
        description.get("containerToImageMap").and_then(Value::as_object).map(|m| m.keys().cloned().collect()).unwrap_or_default();
    let current = |container: &str| {
        containers.iter().find(|c| c.name.as_deref() == Some(container)).and_then(|c| c.image.clone()).unwrap_or_default()
    };
    mapped.into_iter().map(|container| (current(&container), container)).map(|(image, container)| (container, image)).collect()
}

/// The operations list that deploys the next version of `name` (in `account` and `region`)
/// from its `description`, with `images` ((container or `image`, image) pairs) and `name` as the
/// source whose capacity and scaling it takes; no strategy (the person disables the old one).
pub fn new_version(mut description: Value, images: &[(String, String)], account: &str, region: &str, name: &str) -> Value {
    let artifact = artifact_mode(&description);
    if let Some(d) = description.as_object_mut() {
        if artifact {
            let map: Map<String, Value> = images.iter().map(|(c, i)| (c.clone(), json!(i))).collect();
            d.insert("containerToImageMap".into(), Value::Object(map));
            d.remove("containerMappings");
        } else if let Some((_, image)) = images.first() {
            d.insert("dockerImageAddress".into(), json!(image));
            d.remove("imageDescription");
        }
        d.insert("source".into(), json!({"account": account, "region": region, "asgName": name, "useSourceCapacity": true}));
        d.insert("strategy".into(), json!(""));
    }
    json!([{ Operation::CreateServerGroup.name(): description }])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(name: &str, image: &str) -> ContainerView {
        ContainerView { name: Some(name.into()), image: Some(image.into()), ports: vec![], environment: vec![], secret_names: vec![] }
    }

    #[test]
    fn the_new_version_replaces_the_images_and_takes_the_old_one_as_source() {
        let artifact = json!({"credentials": "prod", "availabilityZones": {"us-west-2": []}, "useTaskDefinitionArtifact": true,
            "containerToImageMap": {"web": "nginx:1"}, "containerMappings": [{"containerName": "web"}], "strategy": "redblack"});
        let ops = json!([{"disableServerGroup": {}}, {"createServerGroup": artifact}]);
        assert!(description_for(&ops, "prod", "us-east-1").is_none(), "another region's description is not this one's");
        let d = description_for(&ops, "prod", "us-west-2").unwrap();
        assert_eq!(
            image_fields(&d, &[container("web", "nginx:1"), container("sidecar", "envoy")], ""),
            [("web".to_string(), "nginx:1".to_string())]
        );
        let next = new_version(d, &[("web".into(), "nginx:2".into())], "prod", "us-west-2", "app-web-v001");
        let c = &next[0]["createServerGroup"];
        assert_eq!((c["containerToImageMap"]["web"].clone(), c["strategy"].clone()), (json!("nginx:2"), json!("")));
        assert!(c.get("containerMappings").is_none());
        assert_eq!(c["source"]["asgName"], "app-web-v001");
        let inputs =
            json!({"credentials": "prod", "availabilityZones": {"us-west-2": []}, "dockerImageAddress": "a:1", "imageDescription": {}});
        assert_eq!(image_fields(&inputs, &[], "a:1"), [("image".to_string(), "a:1".to_string())]);
        let next = new_version(inputs, &[("image".into(), "a:2".into())], "prod", "us-west-2", "x-v000");
        assert_eq!(next[0]["createServerGroup"]["dockerImageAddress"], "a:2");
        let result = json!({"account": "prod", "serverGroupNames": ["us-west-2:app-web-v001"]});
        assert!(created(&result, "prod", "us-west-2", "app-web-v001"));
        assert!(!created(&result, "prod", "us-east-1", "app-web-v001") && !created(&result, "test", "us-west-2", "app-web-v001"));
    }
}
