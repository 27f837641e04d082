//! What the fuzz targets share: the account configuration the parsers resolve against.

pub const CONFIG: &str = "aws:
  enabled: true
  defaultAssumeRole: role/SpinnakerManaged
  accounts:
    - name: aws-main
      accountId: \"123456789012\"
      regions: [{name: us-west-2}, {name: us-east-1}]
ecs:
  enabled: true
  accounts:
    - name: ecs-main
      awsAccount: aws-main
    - name: ecs-tags
      awsAccount: aws-main
      namingStrategy: tags
";

pub fn config() -> ecs_deployer::config::Config {
    ecs_deployer::config::Config::from_yaml(CONFIG).expect("the fuzz configuration is valid")
}
