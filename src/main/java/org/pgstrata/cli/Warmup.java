package org.pgstrata.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.List;
import org.pgstrata.manifest.Checksum;
import org.pgstrata.manifest.Json;
import org.pgstrata.manifest.Manifest;

/**
 * Loads the classes a typical command needs, so that the launcher can record them in a class
 * data sharing archive once per build (listed with -XX:DumpLoadedClassList, then dumped with
 * -Xshare:dump into a static archive). Later runs map that archive
 * instead of loading and verifying the classes again, which saves a fifth of a second on every
 * command. Run by the launcher only; it touches no server and no files.
 */
public final class Warmup {
    private Warmup() {
    }

    public static void main(String[] args) throws Exception {
        var cl = Cli.commandLine();
        StringWriter sink = new StringWriter();
        cl.usage(new PrintWriter(sink));
        for (var sub : cl.getSubcommands().values()) {
            sub.usage(new PrintWriter(sink));
        }
        Manifest m = new Manifest(Manifest.FORMAT_VERSION, "warmup", "full", null, "1", 170000, 1, "0/0", "0/0", "t", "t", "zstd",
                "", "", List.of(), List.of(), List.of(), 0, 0, "dev", Manifest.WAL_IN_BACKUP, true, null, null, null, null);
        Json.unseal("warmup", Json.seal(m), Manifest.class);
        com.github.luben.zstd.Zstd.compress(new byte[8192], 3);
        // The archive_command path: its classes, loaded but not run.
        for (String c : new String[] {"org.pgstrata.cli.LeanWal", "org.pgstrata.wal.WalPush", "org.pgstrata.wal.WalGet",
            "org.pgstrata.manifest.WalArchive", "org.pgstrata.manifest.WalArchive$Entry", "org.pgstrata.manifest.WalArchive$Key",
            "org.pgstrata.manifest.WalArchive$Checked", "org.pgstrata.postgres.WalFileName",
            "org.pgstrata.manifest.RepoIdentity", "org.pgstrata.manifest.Envelope",
            "org.pgstrata.storage.fs.FileStorage", "org.pgstrata.storage.s3.S3Storage", "org.pgstrata.postgres.WalSegmentHeader"}) {
            Class.forName(c);
        }
        Checksum.of(new byte[8192]);
        org.pgstrata.storage.s3.S3Storage.warmUp();
        org.pgstrata.storage.crypt.EncryptedStorage.warmUp();
        try {
            // Port 1 on loopback refuses at once; this loads the driver's connection classes.
            DriverManager.getConnection("jdbc:postgresql://127.0.0.1:1/postgres?connectTimeout=1", "postgres", "");
        } catch (SQLException expected) {
            // refused, as intended
        }
        // The classes a backup or restore loads only once it runs (the engine, the driver's protocol, the
        // Unix-domain socket it connects through), loaded here without being initialised: read from their
        // jars and verified at every start otherwise (0.05 s of a backup's 0.55 s, measured on an unchanged
        // incremental). picocli's classes (class file version 49) go into a static archive only: Java 17
        // leaves them out of one recorded at exit (-XX:ArchiveClassesAtExit).
        for (Class<?> inJar : new Class<?>[] {Warmup.class, org.postgresql.Driver.class, org.newsclub.net.unix.AFUNIXSocket.class}) {
            loadAll(inJar);
        }
    }

    /** Loads every class of the jar {@code inJar} came from, skipping those that cannot be loaded here. */
    private static void loadAll(Class<?> inJar) {
        java.security.CodeSource source = inJar.getProtectionDomain().getCodeSource();
        if (source == null) {
            return;
        }
        try (java.util.jar.JarFile jar = new java.util.jar.JarFile(new java.io.File(source.getLocation().toURI()))) {
            for (var e = jar.entries(); e.hasMoreElements(); ) {
                String name = e.nextElement().getName();
                if (!name.endsWith(".class") || name.startsWith("META-INF/") || name.endsWith("module-info.class")) {
                    continue;
                }
                try {
                    Class.forName(name.substring(0, name.length() - 6).replace('/', '.'), false, Warmup.class.getClassLoader());
                } catch (Throwable optional) {
                    // a class of an optional integration whose library is absent: not needed by pgstrata
                }
            }
        } catch (Exception notAJar) {
            // classes from a directory (a test run): nothing to archive
        }
    }
}
