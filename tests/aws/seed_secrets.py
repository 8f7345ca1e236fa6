"""Creates Secrets Manager state in a moto server with boto3 (an independent client).

Usage: python3 seed_secrets.py ENDPOINT_URL < ops.json
ops.json is a JSON array of operations, each one of
  {"op": "create", "name": N, "string": S}        create_secret with SecretString
  {"op": "create", "name": N, "binaryBase64": B}  create_secret with SecretBinary
  {"op": "put", "name": N, "string": S}           put_secret_value (moves AWSCURRENT, old one becomes AWSPREVIOUS)
  {"op": "delete", "name": N}                     delete_secret without recovery
Prints a JSON array with the VersionId each create/put returned (null for deletes).
"""
import base64
import json
import sys

import boto3


def main():
    endpoint = sys.argv[1]
    ops = json.load(sys.stdin)
    client = boto3.client(
        "secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="AKIDSEEDER", aws_secret_access_key="seeder-secret",
    )
    out = []
    for op in ops:
        if op["op"] == "create":
            kwargs = {"Name": op["name"]}
            if "string" in op:
                kwargs["SecretString"] = op["string"]
            else:
                kwargs["SecretBinary"] = base64.b64decode(op["binaryBase64"])
            out.append(client.create_secret(**kwargs)["VersionId"])
        elif op["op"] == "put":
            out.append(client.put_secret_value(SecretId=op["name"], SecretString=op["string"])["VersionId"])
        elif op["op"] == "delete":
            client.delete_secret(SecretId=op["name"], ForceDeleteWithoutRecovery=True)
            out.append(None)
        else:
            raise SystemExit(f"unknown op {op['op']!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
