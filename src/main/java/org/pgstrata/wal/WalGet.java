package org.pgstrata.wal;

import org.pgstrata.storage.s3.S3Location;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.manifest.CorruptObjectException;
import org.pgstrata.manifest.WalArchive;
import org.pgstrata.storage.Storage;
import org.pgstrata.storage.StorageFactory;

/**
 * restore_command: copies an archived WAL file to where recovery wants it, checked against its
 * checksum first. Returns false when the archive does not have the file (the end of the archive,
 * as far as recovery is concerned).
 */
public final class WalGet {
    private WalGet() {
    }

    public static boolean get(String repo, String name, Path target) {
        try (Storage storage = StorageFactory.open(repo)) {
            WalArchive archive = new WalArchive(storage);
            Optional<WalArchive.Entry> e = archive.find(name);
            if (e.isEmpty()) {
                return false;
            }
            byte[] content = archive.read(e.get());
            Path dir = target.toAbsolutePath().getParent();
            Path temp = dir.resolve(target.getFileName() + ".pgstrata-get");
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(content));
                ch.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return true;
        } catch (CorruptObjectException e) {
            throw new PgstrataException(ErrorCode.CORRUPT, "archived WAL " + name + " is damaged: " + e.getMessage(),
                    "recovery cannot go past this point; restore to an earlier target, or repair the archive from a copy");
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot fetch " + name + " from " + S3Location.describe(repo) + " to " + target + ": " + e.getMessage(),
                    "check that the repository is reachable");
        }
    }
}
