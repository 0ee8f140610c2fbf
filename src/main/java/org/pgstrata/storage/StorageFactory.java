package org.pgstrata.storage;

import java.io.IOException;
import java.nio.file.Path;
import org.pgstrata.storage.fs.FileStorage;
import org.pgstrata.storage.s3.S3Location;
import org.pgstrata.storage.s3.S3Storage;

/** Opens the storage a repository location names. s3://BUCKET/PREFIX is an S3 bucket. */
public final class StorageFactory {
    private StorageFactory() {
    }

    public static Storage open(String location) throws IOException {
        if (S3Location.isS3(location)) {
            try {
                return new S3Storage(S3Location.parse(location));
            } catch (IllegalArgumentException e) {
                throw new IOException(e.getMessage(), e);
            }
        }
        if (location.contains("://")) {
            throw new IOException("unsupported repository location '" + location
                    + "': use a local directory or s3://BUCKET/PREFIX");
        }
        return new FileStorage(Path.of(location));
    }

    /**
     * The command-line arguments that name {@code location} for another pgstrata process, such as
     * archive_command: "--repo" and an absolute directory, or "--repo s3://.." with its S3 options.
     */
    public static java.util.List<String> arguments(String location) {
        if (S3Location.isS3(location)) {
            return S3Location.parse(location).arguments();
        }
        return java.util.List.of("--repo", Path.of(location).toAbsolutePath().normalize().toString());
    }

    /** The location of {@code name} inside {@code location}: a subdirectory, or a longer S3 prefix. */
    public static String child(String location, String name) {
        if (S3Location.isS3(location)) {
            S3Location l = S3Location.parse(location);
            return new S3Location(l.bucket(), l.prefix().isEmpty() ? name : l.prefix() + "/" + name, l.endpoint(), l.region(),
                    l.pathStyle()).toString();
        }
        return Path.of(location).resolve(name).toString();
    }
}
