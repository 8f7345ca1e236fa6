"""Creates and inspects S3 state in a moto server with boto3 (an independent client).

Usage: python3 seed_bucket.py ENDPOINT_URL < ops.json
ops.json is a JSON array of operations; the output is a JSON array with one result each:
  {"op": "createBucket", "bucket": B}                          -> null
  {"op": "put", "bucket": B, "key": K, "text": T}               -> ETag without quotes
  {"op": "get", "bucket": B, "key": K, "chunkBytes"?: N, "compareFile"?: P}
      -> {"size", "sha256", "metadata", "contentType", "text"? (<= 4 KiB, UTF-8),
          "contentId"? (SPEC 4.2 over the bytes read, when chunkBytes is given),
          "sameAsFile"? (bytes equal the file P)}
  {"op": "head", "bucket": B, "key": K, "partNumber"?: N}      -> {"size", "checksumSHA256", "partsCount", "metadata"}
  {"op": "attributes", "bucket": B, "key": K}                  -> {"totalPartsCount", "checksumSHA256"}
  {"op": "exists", "bucket": B, "key": K}                      -> true/false
  {"op": "uploads", "bucket": B}                               -> [[key, uploadId], ...]
  {"op": "createUpload", "bucket": B, "key": K}                -> uploadId
  {"op": "listdir", "path": P}                                 -> sorted names
"""
import hashlib
import json
import os
import sys

import boto3
import botocore.exceptions
from botocore.config import Config


def content_id(data, chunk):
    digests = b""
    if not data:
        digests = hashlib.sha256(b"").digest()
    for start in range(0, len(data), chunk):
        digests += hashlib.sha256(data[start:start + chunk]).digest()
    return hashlib.sha256(digests).hexdigest()


def main():
    endpoint = sys.argv[1]
    ops = json.load(sys.stdin)
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="AKIDSEEDER", aws_secret_access_key="seeder-secret",
        config=Config(s3={"addressing_style": "path"}),
    )
    out = []
    for op in ops:
        kind = op["op"]
        if kind == "createBucket":
            client.create_bucket(Bucket=op["bucket"])
            out.append(None)
        elif kind == "put":
            out.append(client.put_object(Bucket=op["bucket"], Key=op["key"], Body=op["text"].encode())["ETag"].strip('"'))
        elif kind == "get":
            response = client.get_object(Bucket=op["bucket"], Key=op["key"])
            data = response["Body"].read()
            result = {
                "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                "metadata": response.get("Metadata", {}), "contentType": response.get("ContentType"),
            }
            if len(data) <= 4096:
                try:
                    result["text"] = data.decode()
                except UnicodeDecodeError:
                    pass
            if op.get("chunkBytes"):
                result["contentId"] = content_id(data, op["chunkBytes"])
            if op.get("compareFile"):
                with open(op["compareFile"], "rb") as f:
                    result["sameAsFile"] = f.read() == data
            out.append(result)
        elif kind == "head":
            kwargs = {"Bucket": op["bucket"], "Key": op["key"], "ChecksumMode": "ENABLED"}
            if op.get("partNumber"):
                kwargs["PartNumber"] = op["partNumber"]
            response = client.head_object(**kwargs)
            out.append({
                "size": response["ContentLength"], "checksumSHA256": response.get("ChecksumSHA256"),
                "partsCount": response.get("PartsCount"), "metadata": response.get("Metadata", {}),
            })
        elif kind == "attributes":
            response = client.get_object_attributes(
                Bucket=op["bucket"], Key=op["key"], ObjectAttributes=["ObjectParts", "Checksum", "ObjectSize"])
            out.append({
                "totalPartsCount": response.get("ObjectParts", {}).get("TotalPartsCount"),
                "checksumSHA256": response.get("Checksum", {}).get("ChecksumSHA256"),
            })
        elif kind == "exists":
            try:
                client.head_object(Bucket=op["bucket"], Key=op["key"])
                out.append(True)
            except botocore.exceptions.ClientError as error:
                if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                    out.append(False)
                else:
                    raise
        elif kind == "uploads":
            response = client.list_multipart_uploads(Bucket=op["bucket"])
            out.append([[u["Key"], u["UploadId"]] for u in response.get("Uploads", [])])
        elif kind == "createUpload":
            out.append(client.create_multipart_upload(Bucket=op["bucket"], Key=op["key"])["UploadId"])
        elif kind == "listdir":
            out.append(sorted(os.listdir(op["path"])))
        else:
            raise SystemExit(f"unknown op {kind!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
