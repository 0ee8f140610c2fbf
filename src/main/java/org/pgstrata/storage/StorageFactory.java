package org.pgstrata.storage;

import java.io.IOException;
import java.nio.file.Path;
import org.pgstrata.storage.fs.FileStorage;

/** Opens the storage a repository location names. Object storage arrives with its own scheme. */
public final class StorageFactory {
    private StorageFactory() {
    }

    public static Storage open(String location) throws IOException {
        if (location.contains("://")) {
            throw new IOException("unsupported repository location '" + location
                    + "': only local directories are supported by this version");
        }
        return new FileStorage(Path.of(location));
    }
}
