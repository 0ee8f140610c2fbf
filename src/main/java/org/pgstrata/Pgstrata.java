package org.pgstrata;

import org.pgstrata.storage.s3.S3Location;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.pgstrata.advise.Advisor;
import org.pgstrata.api.Advice;
import org.pgstrata.api.AdviseRequest;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.api.Compression;
import org.pgstrata.api.RecoveryWindow;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.CompareResult;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.ExpireRequest;
import org.pgstrata.api.ExpireResult;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.backup.BackupRemoval;
import org.pgstrata.backup.Expire;
import org.pgstrata.backup.PhysicalBackup;
import org.pgstrata.compare.Compare;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.api.LogicalBackupRequest;
import org.pgstrata.api.LogicalBackupResult;
import org.pgstrata.api.LogicalRestoreRequest;
import org.pgstrata.api.LogicalRestoreResult;
import org.pgstrata.logical.LogicalBackup;
import org.pgstrata.logical.LogicalRestore;
import org.pgstrata.manifest.LogicalManifest;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.manifest.RecoveryWindows;
import org.pgstrata.manifest.RepoInfo;
import org.pgstrata.manifest.DrillRecords;
import org.pgstrata.manifest.Repository;
import org.pgstrata.manifest.Verifier;
import org.pgstrata.postgres.ControlFile;
import org.pgstrata.restore.PhysicalRestore;
import org.pgstrata.wal.WalGet;
import org.pgstrata.wal.WalPush;
import org.pgstrata.wal.WalSetup;

/**
 * The library's entry point: one method per thing pgstrata does. The command line is a thin
 * layer over this class; so are the tests. Time, progress reporting and the environment (for
 * PG* variables and binary lookup) are passed in.
 */
public final class Pgstrata {
    private final Clock clock;
    private final Progress progress;
    private final Map<String, String> env;

    public Pgstrata(Clock clock, Progress progress, Map<String, String> env) {
        this.clock = clock;
        this.progress = progress;
        this.env = env;
    }

    public static Pgstrata standard(Progress progress) {
        return new Pgstrata(Clock.systemUTC(), progress, System.getenv());
    }

    // ---- local clusters

    public LocalCluster clusterInit(Path pgdata, int port, Integer pgVersion, Path pgBin) {
        return clusterInit(pgdata, port, pgVersion, pgBin, null);
    }

    /** A new cluster; with {@code archiveTo}, archiving into that repository (created for the cluster). */
    public LocalCluster clusterInit(Path pgdata, int port, Integer pgVersion, Path pgBin, String archiveTo) {
        PgBinaries bin = PgBinaries.resolve(pgBin, pgVersion, env);
        progress.step("initialising PostgreSQL " + bin.version() + " cluster in " + pgdata);
        String extra = "";
        if (archiveTo != null) {
            try (Repository r = Repository.open(archiveTo)) {
                if (r.info().isPresent()) {
                    throw new PgstrataException(ErrorCode.REPO_MISMATCH, "repository " + r.describe() + " already serves cluster "
                            + r.info().get().systemIdentifier() + "; a new cluster needs its own",
                            "pass --archive-to a new or empty directory");
                }
                if (r.hasContent()) {
                    throw new PgstrataException(ErrorCode.REPO_MISMATCH, "repository " + r.describe() + " holds another cluster's backups "
                            + "or archived WAL (its repo.json is missing); a new cluster needs its own", "pass --archive-to a new or empty directory");
                }
            }
            extra = "\n# Added by pgstrata cluster init --archive-to: archive every WAL file into the repository.\n"
                    + WalSetup.confLines(archiveTo);
        }
        LocalCluster c = LocalCluster.init(pgdata, bin, new LocalCluster.InitOptions(port, extra));
        if (archiveTo != null) {
            RepoInfo info = repoInit(archiveTo, c.pgdata());
            progress.step("the cluster archives into " + org.pgstrata.storage.s3.S3Location.describe(archiveTo) + " (repository for " + info.systemIdentifier() + ")");
        }
        return c;
    }

    /** The cluster in {@code pgdata}, run with binaries of its own major version. */
    public LocalCluster cluster(Path pgdata, Path pgBin) {
        int major = LocalCluster.majorOf(pgdata);
        return new LocalCluster(pgdata, PgBinaries.forMajor(pgBin, major, env));
    }

    // ---- the books workload

    public void demoInit(ConnectionSettings s) {
        try (Connection c = Db.connect(s)) {
            Books.init(c);
        } catch (SQLException e) {
            throw Db.sqlFailed("creating the books table", e);
        }
    }

    /** Inserts {@code rows} books, then, with {@code settle}, runs {@link Books#settle} on them. */
    public Books.PopulateResult populate(ConnectionSettings s, long rows, int batchSize, long seed, boolean settle) {
        try (Connection c = Db.connect(s)) {
            Books.PopulateResult r = Books.populate(c, rows, batchSize, seed, progress);
            return settle ? r.withVacuum(Books.settle(c, progress)) : r;
        } catch (SQLException e) {
            throw Db.sqlFailed("populating books", e);
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "populating books failed: " + e.getMessage(), null, e);
        }
    }

    public Books.MutateResult mutate(ConnectionSettings s, int inserts, int updates, int deletes, long seed) {
        try (Connection c = Db.connect(s)) {
            return Books.mutate(c, inserts, updates, deletes, seed);
        } catch (SQLException e) {
            throw Db.sqlFailed("changing books", e);
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "changing books failed: " + e.getMessage(), null, e);
        }
    }

    public ContentChecksum.Result checksum(ConnectionSettings s) {
        try (Connection c = Db.connect(s)) {
            return ContentChecksum.compute(c);
        } catch (SQLException e) {
            throw Db.sqlFailed("computing the content checksum", e);
        }
    }

    // ---- repository, backup, restore

    /** Creates a repository for the cluster in {@code pgdata} (no server connection needed). */
    public RepoInfo repoInit(String repo, Path pgdata) {
        return repoInit(repo, pgdata, false);
    }

    /**
     * {@link #repoInit(String, Path)}; with {@code repair}, a repository that holds backups but
     * has lost its repo.json gets it back, once every backup and archived WAL segment in it is
     * shown to belong to the cluster in {@code pgdata} (see {@link Repository#recreateInfo}).
     */
    public RepoInfo repoInit(String repo, Path pgdata, boolean repair) {
        LocalCluster.requireDataDirectory(pgdata);
        Repository.refuseInsideDataDirectory(repo, pgdata);
        try (Repository r = Repository.open(repo)) {
            ControlFile control = ControlFile.read(pgdata);
            String sysid = control.systemIdentifierText();
            int major = LocalCluster.majorOf(pgdata);
            if (repair && r.info().isEmpty() && r.hasContent()) {
                progress.step("repository " + r.describe() + " holds backups but no repo.json: checking that they all belong to cluster " + sysid);
                String checked = r.recreateInfo(sysid, major, clock);
                progress.warn("re-created the missing repo.json of " + r.describe() + " for cluster " + sysid + " (" + checked + ")");
                return r.requireInfo();
            }
            RepoInfo info = r.initialize(sysid, major, clock);
            r.createdClearDespitePassphrase().ifPresent(progress::warn);
            return info;
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.NOT_A_DATA_DIR, "cannot read " + pgdata + "/global/pg_control: " + e.getMessage(), null);
        }
    }

    /**
     * Gives an encrypted repository a new passphrase: its data key wrapped again, repo.json
     * replaced under the lock, no other object touched. The current passphrase comes as every
     * command's does ({@link org.pgstrata.api.CipherPass}).
     */
    public RepoInfo rotatePassphrase(String repo, char[] newPassphrase) {
        try (Repository r = Repository.open(repo);
             org.pgstrata.storage.Storage.RepositoryLock lock = r.lock("repo rotate-pass", clock)) {
            return r.rotatePassphrase(newPassphrase);
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot release the lock of " + repo + ": " + e.getMessage(), null);
        }
    }

    public BackupResult backup(BackupRequest req) {
        return new PhysicalBackup(clock, progress).run(req);
    }

    public RestoreResult restore(RestoreRequest req) {
        return new PhysicalRestore(progress, env).run(req);
    }

    /** pg_dump of one database (full), or the rows changed since the last logical full (diff). */
    public LogicalBackupResult logicalBackup(LogicalBackupRequest req) {
        return new LogicalBackup(clock, progress, env).run(req);
    }

    /** A logical backup (and its full, for a differential) restored into a database of a running server. */
    public LogicalRestoreResult logicalRestore(LogicalRestoreRequest req) {
        return new LogicalRestore(progress, env).run(req);
    }

    public VerifyResult verify(String repo, String backupId) {
        return verify(new org.pgstrata.api.VerifyRequest(repo, backupId, null, 2));
    }

    /**
     * A restore drill: the backup restored into a scratch directory, started on a socket of its
     * own, proven (amcheck, every table read, pg_control against the manifest), removed; the
     * outcome recorded in the repository and returned.
     */
    public org.pgstrata.api.DrillRecord drill(org.pgstrata.drill.Drill.Request req) {
        return new org.pgstrata.drill.Drill(clock, progress, env).run(req);
    }

    /** Removes what killed drills left in the default scratch area on this host; one line per directory. */
    public List<String> cleanDrillLeftovers() {
        return org.pgstrata.drill.ScratchArea.cleanLeftovers(org.pgstrata.drill.ScratchArea.defaultParent());
    }

    /** The decompressed dumps that killed logical restores on this host left in the temporary directory. */
    public java.util.List<java.nio.file.Path> interruptedLogicalRestores() {
        return org.pgstrata.logical.LogicalRestore.interruptedRestoreDumps();
    }

    /** Rebuilds every file of the backups in scope through its chain, as a restore would, writing nothing. */
    public VerifyResult verify(org.pgstrata.api.VerifyRequest req) {
        try (Repository r = Repository.open(req.repo())) {
            return new Verifier(progress).verify(r, req.backupId(), req.since(), req.jobs());
        }
    }

    /**
     * Every backup, oldest first (by stop time; physical backups keep their LSN order), then the
     * backups whose manifest cannot be read, as damaged rows.
     */
    public List<BackupInfo> list(String repo) {
        return listing(repo).backups();
    }

    /**
     * The backups in a repository, whether it is encrypted, the newest drill of each backup that
     * was drilled (by backup id), and the newest drill that passed: what {@code list} prints, from
     * one opening.
     */
    public record Listing(List<BackupInfo> backups, boolean encrypted, Map<String, org.pgstrata.api.DrillRecord> lastDrill, Proven lastProven) {
    }

    /** The newest drill that passed: which backup, and when it began; null in a repository never proven. */
    public record Proven(String backupId, String time) {
    }

    /** The drill records of the backups {@code present}: each one's newest, read, and the newest that passed. */
    private static Map.Entry<Map<String, org.pgstrata.api.DrillRecord>, Proven> drills(Repository r, java.util.Set<String> present) {
        try {
            Map<String, List<DrillRecords.Entry>> all = DrillRecords.list(r.storage());
            Map<String, org.pgstrata.api.DrillRecord> last = new java.util.LinkedHashMap<>();
            List<DrillRecords.Entry> passed = new java.util.ArrayList<>();
            for (var e : all.entrySet()) {
                if (!present.contains(e.getKey())) {
                    continue; // its backup is gone: the next expire removes it
                }
                last.put(e.getKey(), DrillRecords.readOrName(r.storage(), e.getValue().get(0)));
                e.getValue().stream().filter(DrillRecords.Entry::passed).forEach(passed::add);
            }
            // The newest passed record that can be read: a damaged one's name proves nothing.
            passed.sort(java.util.Comparator.comparing(DrillRecords.Entry::time).reversed());
            DrillRecords.Entry proven = null;
            for (DrillRecords.Entry d : passed) {
                boolean readable = DrillRecords.readOrName(r.storage(), d).passed();
                if (readable) {
                    proven = d;
                    break;
                }
            }
            return Map.entry(last, proven == null ? new Proven(null, null) : new Proven(proven.backupId(), proven.time().toString()));
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot read the drill records of " + r.describe() + ": " + e.getMessage(), null, e);
        }
    }

    /** {@link #list}, with whether the repository is encrypted, from the same opening of it. */
    public Listing listing(String repo) {
        try (Repository r = Repository.open(repo)) {
            r.requireInfo();
            Repository.Catalogue<Manifest> physical = r.catalogue();
            Repository.Catalogue<LogicalManifest> logical = r.logicalCatalogue();
            Map<String, Manifest> byId = new java.util.HashMap<>();
            physical.backups().forEach(m -> byId.put(m.id(), m));
            List<BackupInfo> all = new java.util.ArrayList<>(physical.backups().stream().map(m -> new BackupInfo(m.id(), m.type(), m.reference(),
                    Repository.chainOf(m, byId), m.startLsn(), m.stopLsn(), m.startTime(), m.stopTime(), m.dataBytes(), m.repositoryBytes(),
                    m.pgMajor(), null, BackupInfo.OK, null, m.changeSource())).toList());
            for (LogicalManifest m : logical.backups()) {
                all.add(new BackupInfo(m.id(), m.type(), m.reference(), m.differential() ? List.of(m.reference(), m.id()) : List.of(m.id()),
                        m.snapshotLsn(), m.snapshotLsn(), m.startTime(), m.stopTime(),
                        m.dump().stream().mapToLong(LogicalManifest.StoredFile::size).sum(), m.repositoryBytes(), m.pgMajor(), m.database(),
                        BackupInfo.OK, null, null));
            }
            // By instant, not text ("...:05Z" after "...:05.250Z"); stable: physical backups keep their LSN order
            all.sort(java.util.Comparator.comparing(b -> java.time.Instant.parse(b.stopTime())));
            physical.problems().forEach((id, why) -> all.add(BackupInfo.damaged(id, false, why)));
            logical.problems().forEach((id, why) -> all.add(BackupInfo.damaged(id, true, why)));
            var drills = drills(r, all.stream().map(BackupInfo::id).collect(java.util.stream.Collectors.toSet()));
            return new Listing(all, r.encrypted(), drills.getKey(), drills.getValue().backupId() == null ? null : drills.getValue());
        }
    }

    /** The id of the backup {@code steps} before the newest (0: the newest), in the order of their stop LSNs. */
    public String backupStepsBack(String repo, int steps) {
        try (Repository r = Repository.open(repo)) {
            r.requireInfo();
            Repository.Catalogue<Manifest> c = r.catalogue();
            c.requireNoDamage("count " + steps + " backup(s) back", STEPS_HINT);
            return stepsBack(repo, c.backups().stream().map(Manifest::id).toList(), steps, "backup(s)");
        }
    }

    /** The id of the logical backup {@code steps} before the newest logical one (0: the newest). */
    public String logicalStepsBack(String repo, int steps) {
        try (Repository r = Repository.open(repo)) {
            r.requireInfo();
            Repository.Catalogue<LogicalManifest> c = r.logicalCatalogue();
            c.requireNoDamage("count " + steps + " logical backup(s) back", STEPS_HINT);
            return stepsBack(repo, c.backups().stream().map(LogicalManifest::id).toList(), steps, "logical backup(s)");
        }
    }

    private static final String STEPS_HINT = "name an intact backup with --backup ID ('pgstrata list' shows which are damaged), or delete the damaged one";

    private static String stepsBack(String repo, List<String> oldestFirst, int steps, String what) {
        if (steps < 0 || steps >= oldestFirst.size()) {
            throw new PgstrataException(ErrorCode.NOT_FOUND, "repository " + S3Location.describe(repo) + " has " + oldestFirst.size()
                    + " " + what + ", so there is no point " + steps + " steps back", "use --steps-back 0 to " + Math.max(0, oldestFirst.size() - 1));
        }
        return oldestFirst.get(oldestFirst.size() - 1 - steps);
    }

    /** Removes a backup; with {@code withDependants}, also every backup built on it (otherwise they make it refuse). */
    public List<String> delete(String repo, String backupId, boolean withDependants) {
        return new BackupRemoval(clock, progress).run(repo, backupId, withDependants);
    }

    /**
     * Retention: removes the backups that none of the request's rules keeps (and nothing a kept
     * backup needs), then the archived WAL from before the oldest kept physical backup.
     */
    public ExpireResult expire(ExpireRequest req) {
        return new Expire(clock, progress).run(req);
    }

    // ---- WAL archive

    public WalPush.Result walPush(String repo, Path file, boolean batch, Compression compression) {
        return WalPush.push(repo, file, batch, compression);
    }

    public boolean walGet(String repo, String name, Path target) {
        return WalGet.get(repo, name, target);
    }

    /** The archive settings for a cluster, as postgresql.conf lines. */
    public String walSettings(String repo) {
        return WalSetup.confLines(repo);
    }

    /** pgstrata check: connection, repository, checksums, archive_command, and a switched segment that reaches the repository. */
    public org.pgstrata.api.CheckResult check(org.pgstrata.api.CheckRequest req) {
        return org.pgstrata.wal.ArchiveCheck.run(req, progress);
    }

    /** {@link #walSettings(String)}, archive_command naming the repository with {@code selfArguments} (--stanza NAME). */
    public String walSettings(String repo, java.util.List<String> selfArguments) {
        return WalSetup.confLines(repo, selfArguments);
    }

    /** Applies the archive settings (creating the repository if needed); the cluster may be running or not. */
    public WalSetup.Applied walSetupApply(String repo, Path pgdata, ConnectionSettings conn) {
        return walSetupApply(repo, java.util.List.of(), pgdata, conn);
    }

    /** {@link #walSetupApply(String, Path, ConnectionSettings)}, archive_command naming the repository with {@code selfArguments}. */
    public WalSetup.Applied walSetupApply(String repo, java.util.List<String> selfArguments, Path pgdata, ConnectionSettings conn) {
        boolean running = WalSetup.isRunning(pgdata);
        if (running) {
            WalSetup.requireServerOf(pgdata, conn); // before anything is written: ALTER SYSTEM goes to the server connected to
            WalSetup.requireNoArchiveLibrary(conn); // an archive_command beside it would stop all archiving (16+) or never run (15)
        } else {
            WalSetup.requireNoArchiveLibrary(pgdata);
        }
        repoInit(repo, pgdata); // creates it for the cluster, or refuses one that serves another cluster (exit 11)
        return WalSetup.apply(repo, selfArguments, pgdata, conn, running);
    }

    /** Creates a named restore point; with {@code switchWal}, also switches WAL so that it is archived now. */
    public String restorePoint(ConnectionSettings s, String name, boolean switchWal) {
        // PostgreSQL counts bytes (63 at most), not characters: a longer name failed on the server as if it were down (exit 19)
        if (name == null || name.isEmpty() || name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 63) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid restore point name '" + name + "'", "use 1 to 63 bytes (UTF-8)");
        }
        if (name.indexOf('\n') >= 0 || name.indexOf('\r') >= 0) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid restore point name '" + name + "': it holds a line break, and PostgreSQL cannot"
                    + " end a recovery at such a point (the new timeline's history file, which quotes the name, would not read back)",
                    "use a name without line breaks");
        }
        try (Connection c = Db.connect(s, "pgstrata restore-point")) {
            String lsn;
            try (var ps = c.prepareStatement("SELECT pg_create_restore_point(?)::text")) {
                ps.setString(1, name);
                try (var rs = ps.executeQuery()) {
                    rs.next();
                    lsn = rs.getString(1);
                }
            }
            if (switchWal) {
                Db.execute(c, "SELECT pg_switch_wal()");
            }
            return lsn;
        } catch (SQLException e) {
            throw Db.sqlFailed("creating restore point " + name, e);
        }
    }

    /** The recoverable window of each timeline. */
    public List<RecoveryWindow> info(String repo) {
        return windows(repo).windows();
    }

    /**
     * What a repository can restore, and whether it is encrypted: what {@code info} prints, from one opening.
     * {@code logicalBackups} counts the logical backups, which restore whole but have no window of their own; {@code damaged}
     * names the physical backups whose manifest cannot be read (left out of the windows).
     */
    public record Windows(List<RecoveryWindow> windows, boolean encrypted, Proven lastProven, int logicalBackups, List<String> damaged) {
    }

    /** {@link #info}, with whether the repository is encrypted, from the same opening of it. */
    public Windows windows(String repo) {
        try (Repository r = Repository.open(repo)) {
            r.requireInfo();
            // The backups list shows, damaged ones among them: not every directory, which an interrupted delete leaves without its
            // manifest (the backup is gone, its drill records not yet).
            Repository.Catalogue<Manifest> physical = r.catalogue();
            Repository.Catalogue<LogicalManifest> logicalCatalogue = r.logicalCatalogue();
            java.util.Set<String> present = new java.util.HashSet<>(physical.problems().keySet());
            physical.backups().forEach(m -> present.add(m.id()));
            present.addAll(logicalCatalogue.problems().keySet());
            var logical = logicalCatalogue.backups();
            logical.forEach(m -> present.add(m.id()));
            Proven p = drills(r, present).getValue();
            return new Windows(RecoveryWindows.of(r), r.encrypted(), p.backupId() == null ? null : p, logical.size(),
                    List.copyOf(physical.problems().keySet()));
        } catch (org.pgstrata.storage.CorruptObjectException e) {
            throw new PgstrataException(ErrorCode.CORRUPT, "cannot read repository " + S3Location.describe(repo) + ": " + e.getMessage(),
                    "run 'pgstrata verify --repo " + S3Location.describe(repo) + "' to see what is damaged", e);
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot read repository " + S3Location.describe(repo) + ": " + e.getMessage(), null, e);
        }
    }

    // ---- advice for this cluster

    /** Measures the change since the newest backup, the WAL rate and this machine's restore rate, and predicts each strategy's cost. */
    public Advice advise(AdviseRequest req) {
        return new Advisor(clock, progress).run(req);
    }

    // ---- the main job

    public CompareResult compare(Compare.Options options) {
        return new Compare(clock, progress, env).run(options);
    }

    /** Writes DIR/index.html for a compare result: table, charts, recommendation; returns its path. */
    public Path compareReport(CompareResult result, Path dir) {
        return org.pgstrata.compare.CompareReport.write(result, dir);
    }

    /**
     * pgstrata status: the repository's backups and drills ({@link #listing}) and, when it archives
     * WAL, its recovery windows, judged by {@code limits} at this facade's clock.
     */
    public org.pgstrata.drill.Health.Result status(String repo, org.pgstrata.drill.Health.Limits limits) {
        Listing listing = listing(repo);
        try (Repository r = Repository.open(repo)) {
            r.requireInfo();
            boolean archived = !new org.pgstrata.manifest.WalArchive(r.storage()).isEmpty();
            List<RecoveryWindow> windows = List.of();
            String archiveDamage = null;
            try {
                windows = archived ? RecoveryWindows.tails(r) : List.of();
            } catch (org.pgstrata.storage.CorruptObjectException e) {
                // damage, not a repository it cannot read: judged as a gap is, and the other checks still run
                archiveDamage = e.getMessage();
            }
            Proven p = listing.lastProven();
            return org.pgstrata.drill.Health.evaluate(new org.pgstrata.drill.Health.Facts(S3Location.describe(repo), listing.backups(),
                    listing.lastDrill(), p == null ? null : p.backupId(), p == null ? null : p.time(), archived, windows, archiveDamage,
                    org.pgstrata.backup.Expire.oldestFirst(r)), clock, limits);
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot read the WAL archive of " + S3Location.describe(repo) + ": " + e.getMessage(), null, e);
        }
    }
}
