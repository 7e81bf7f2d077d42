"""AWS CDK v2 app: MisterSmith on ECS Fargate, one service per actor role."""
