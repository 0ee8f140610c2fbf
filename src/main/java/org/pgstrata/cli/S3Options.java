package org.pgstrata.cli;

import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.storage.s3.S3Location;
import picocli.CommandLine.Option;

/** --s3-endpoint, --s3-region and --s3-path-style: how to reach an s3:// repository. */
final class S3Options {
    @Option(names = "--s3-endpoint", paramLabel = "URL", description = "S3-compatible server to use instead of AWS "
            + "(MinIO, Ceph RGW, s3proxy): its URL, such as http://127.0.0.1:9000.")
    String endpoint;

    @Option(names = "--s3-region", paramLabel = "REGION", description = "The bucket's region (default: AWS_REGION or the "
            + "profile's; us-east-1 with --s3-endpoint).")
    String region;

    @Option(names = "--s3-path-style", description = "Name the bucket in the URL's path (http://host/BUCKET/KEY), as most "
            + "S3-compatible servers want, instead of in the host name.")
    boolean pathStyle;

    /**
     * {@code repo} with these options folded in; refused (exit 2) on a directory or a malformed
     * s3:// location. Null for no repository, when no option was given either.
     */
    String location(String repo) {
        if (repo == null) {
            if (endpoint != null || region != null || pathStyle) {
                throw new PgstrataException(ErrorCode.USAGE, "--s3-endpoint, --s3-region and --s3-path-style need an S3 repository",
                        "pass --repo s3://BUCKET/PREFIX");
            }
            return null;
        }
        try {
            return S3Location.withOptions(repo, endpoint, region, pathStyle);
        } catch (IllegalArgumentException e) {
            throw new PgstrataException(ErrorCode.USAGE, e.getMessage(),
                    "an S3 repository is s3://BUCKET/PREFIX, with --s3-endpoint URL, --s3-region and --s3-path-style as needed");
        }
    }
}
