package org.pgstrata.advise;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.pgstrata.api.Advice;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.manifest.Checksum;
import org.pgstrata.manifest.FileEntry;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.ObjectStore;
import org.pgstrata.storage.CorruptObjectException;

/**
 * Measures how fast this machine restores: files of a full backup are read from the repository,
 * decompressed and checksummed (as a restore does, stored checksum and content checksum both),
 * then written into a scratch directory and fsynced, one file at a time, each removed again
 * before the next. Files are drawn at random with a chance proportional to their size, so the
 * sample's mix of big and small files is the backup's, and the draw stops once the time limit is
 * reached (the file that crosses it is read to its end: nothing from the repository is used
 * unchecked).
 */
final class RestoreRateProbe {
    private static final int CHUNK = 1 << 20;

    private RestoreRateProbe() {
    }

    static Advice.RestoreRate measure(ObjectStore objects, Manifest full, Path scratchParent, double seconds) {
        List<FileEntry> order = sizeWeightedOrder(full.files(), full.id().hashCode());
        Path scratch;
        try {
            scratch = Files.createTempDirectory(scratchParent, "pgstrata-advise-");
        } catch (IOException e) {
            // a missing directory's exception says only its path
            String why = e instanceof java.nio.file.NoSuchFileException ? scratchParent + " does not exist" : e.getMessage();
            throw new PgstrataException(ErrorCode.IO, "cannot create a scratch directory in " + scratchParent + ": " + why,
                    "pass --scratch-dir a writable directory, ideally on the disk you would restore to");
        }
        long readNanos = 0;
        long writeNanos = 0;
        long bytes = 0;
        int files = 0;
        long limit = (long) (seconds * 1e9);
        byte[] buf = new byte[CHUNK];
        try {
            for (FileEntry f : order) {
                if (readNanos + writeNanos >= limit) {
                    break;
                }
                Path target = scratch.resolve("file-" + files);
                Checksum content = Checksum.like(f.checksum());
                long size = 0;
                try (InputStream in = objects.open(f.object());
                     FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                    while (true) {
                        long t0 = System.nanoTime();
                        int n = in.readNBytes(buf, 0, buf.length);
                        if (n > 0) {
                            content.update(buf, 0, n);
                        }
                        long t1 = System.nanoTime();
                        readNanos += t1 - t0;
                        if (n <= 0) {
                            break;
                        }
                        ByteBuffer b = ByteBuffer.wrap(buf, 0, n);
                        while (b.hasRemaining()) {
                            out.write(b);
                        }
                        size += n;
                        writeNanos += System.nanoTime() - t1;
                    }
                    long t2 = System.nanoTime();
                    out.force(true);
                    writeNanos += System.nanoTime() - t2;
                } catch (CorruptObjectException e) {
                    throw corrupt(full, f, e.getMessage());
                }
                if (size != f.size() || !content.hex().equals(f.checksum())) {
                    throw corrupt(full, f, "its object does not hold the content the manifest records");
                }
                Files.delete(target);
                bytes += size;
                files++;
            }
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "measuring the restore rate in " + scratch + " failed: " + e.getMessage(),
                    "pass --scratch-dir a directory with room for the largest file of the backup");
        } finally {
            deleteQuietly(scratch);
        }
        double readSeconds = readNanos / 1e9;
        double writeSeconds = writeNanos / 1e9;
        return new Advice.RestoreRate(mbps(bytes, readSeconds), mbps(bytes, writeSeconds), mbps(bytes, readSeconds + writeSeconds), bytes,
                files, readSeconds + writeSeconds, full.id(), scratchParent.toString());
    }

    private static double mbps(long bytes, double seconds) {
        return seconds <= 0 ? 0 : bytes / seconds / 1e6;
    }

    /**
     * The files with content, in a random order in which a file comes early with a chance
     * proportional to its size (Efraimidis and Spirakis: sort by u^(1/size), u uniform in (0,1)).
     */
    static List<FileEntry> sizeWeightedOrder(List<FileEntry> files, long seed) {
        Random random = new Random(seed);
        record Keyed(FileEntry file, double key) {
        }
        List<Keyed> keyed = new ArrayList<>();
        for (FileEntry f : files) {
            if (f.object() != null && f.size() > 0 && f.isWhole()) {
                double u = random.nextDouble();
                keyed.add(new Keyed(f, Math.log(Math.max(u, Double.MIN_VALUE)) / f.size()));
            }
        }
        keyed.sort(Comparator.comparingDouble(Keyed::key).reversed());
        return keyed.stream().map(Keyed::file).toList();
    }

    private static PgstrataException corrupt(Manifest full, FileEntry f, String what) {
        return new PgstrataException(ErrorCode.CORRUPT, "measuring the restore rate on backup " + full.id() + ": " + f.path() + ": " + what,
                "run pgstrata verify --repo on the repository to see every damaged object");
    }

    private static void deleteQuietly(Path dir) {
        try {
            org.pgstrata.api.FileTrees.delete(dir);
        } catch (IOException e) {
            // a leftover scratch file in a temporary directory; the measurement itself is done
        }
    }
}
