"""Adapters: the only modules that import boto3/botocore."""

from __future__ import annotations

from serverless.adapters.dynamodb_ledger import DynamoLedger
from serverless.adapters.ecs import EcsAdapter
from serverless.adapters.elb import TargetHealthAdapter
from serverless.adapters.lambda_trigger import LambdaSweepTrigger

__all__ = ["DynamoLedger", "EcsAdapter", "LambdaSweepTrigger", "TargetHealthAdapter"]
