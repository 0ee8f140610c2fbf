package org.pgstrata.manifest;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.pgstrata.api.CipherPass;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.storage.CorruptObjectException;
import org.pgstrata.storage.LockedException;
import org.pgstrata.storage.ObjectNotFoundException;
import org.pgstrata.storage.Storage;
import org.pgstrata.storage.StorageFactory;
import org.pgstrata.storage.crypt.EncryptedStorage;
import org.pgstrata.storage.crypt.KeyEnvelope;
import org.pgstrata.storage.crypt.RepositoryCipher;

/**
 * A repository: repo.json, the catalogue of backups (one manifest each, under backup/ID/), their
 * objects, and the writer lock. Layout:
 * <pre>
 *   repo.json                       which cluster this repository serves
 *   lock                            the writer lock (holder written inside)
 *   backup/ID/manifest              a backup exists iff this exists; written last
 *   backup/ID/data/PATH[.zst]       file objects
 *   backup/ID/wal/NAME[.zst]        WAL needed to make the backup consistent
 *   logical/ID/manifest             a logical backup (pg_dump), see {@link LogicalManifest}
 *   logical/ID/...                  its objects, read by no other backup
 * </pre>
 */
public final class Repository implements AutoCloseable {
    public static final String INFO_KEY = "repo.json";
    public static final String BACKUP_PREFIX = "backup/";
    public static final String MANIFEST_NAME = "manifest";
    public static final String LOGICAL_PREFIX = "logical/";

    /** The store, through {@link EncryptedStorage} once an encrypted repository's key is unwrapped. */
    private Storage storage;
    private ObjectStore objects;
    /** repo.json once read (or written): it names the cluster every manifest is checked against. */
    private RepoInfo info;
    /** Set when this command created the repository in the clear although it has a passphrase: what to warn of. */
    private String clearDespitePassphrase;
    /** The lock {@link #lock} took, while it is held: {@link #fence} checks it before each manifest write and delete. */
    private volatile Storage.RepositoryLock held;
    /**
     * The stored bytes of each manifest this command has read, held softly. The catalogue reads
     * every manifest for its header, and a restore then needs its chain's manifests whole: on S3
     * that was a second request for each, in batches one after another. A manifest this command
     * writes or removes is forgotten; one that the JVM dropped is read again.
     */
    private final Map<String, java.lang.ref.SoftReference<byte[]>> manifestBytes = new java.util.concurrent.ConcurrentHashMap<>();

    private Repository(Storage storage) {
        this.storage = storage;
        this.objects = new ObjectStore(storage);
    }

    public static Repository open(String location) {
        return open(location, false);
    }

    /**
     * Refuses a repository directory inside the data directory {@code pgdata} (or the data
     * directory itself): every backup would copy the repository, its earlier backups and its WAL
     * archive included, into itself, growing each time, and a restore would bring back a stale
     * copy of it (lock, repo.json, backups) inside the restored cluster. Symbolic links are
     * followed as far as the paths exist. S3 locations are never inside.
     */
    public static void refuseInsideDataDirectory(String location, java.nio.file.Path pgdata) {
        if (location == null || pgdata == null || org.pgstrata.storage.s3.S3Location.isS3(location)) {
            return;
        }
        java.nio.file.Path repo = resolved(java.nio.file.Path.of(location));
        java.nio.file.Path data = resolved(pgdata);
        if (repo.startsWith(data)) {
            throw new PgstrataException(ErrorCode.USAGE, "repository " + location + " lies inside the data directory " + pgdata
                    + ": every backup would copy the repository into itself, and a restore would bring back an old copy of it; "
                    + "nothing was written", "put the repository outside the data directory (and outside its tablespaces)");
        }
    }

    /**
     * Refuses a restore target inside the repository directory {@code location}: verify would
     * list it as an incomplete backup (under backup/) or a stray file, and the next backup would
     * remove it as a leftover, a server running in it or not. S3 locations hold no directory.
     */
    public static void refuseInsideRepository(String location, java.nio.file.Path target) {
        if (location == null || target == null || org.pgstrata.storage.s3.S3Location.isS3(location)) {
            return;
        }
        if (resolved(target).startsWith(resolved(java.nio.file.Path.of(location)))) {
            throw new PgstrataException(ErrorCode.USAGE, "cannot restore into " + target + ": it lies inside the repository " + location
                    + ", whose next backup would remove it as a leftover; nothing was written", "restore outside the repository");
        }
    }

    /** {@code p} absolute, normalised, with symbolic links resolved in the part of it that exists. */
    private static java.nio.file.Path resolved(java.nio.file.Path p) {
        java.nio.file.Path abs = p.toAbsolutePath().normalize();
        java.nio.file.Path existing = abs;
        while (existing != null && !java.nio.file.Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return abs;
        }
        try {
            return existing.toRealPath().resolve(existing.relativize(abs)).normalize();
        } catch (IOException e) {
            return abs;
        }
    }

    /**
     * Like {@link #open(String)}, but an encrypted repository's key is unwrapped on a thread of its
     * own while the caller goes on (connecting to the server, say): the key derivation takes about
     * 0.1 s. The first use of the repository's content waits for the key; call {@link #awaitKey}
     * before anything that a wrong passphrase must stop (taking the lock, starting a backup,
     * writing a restore target), so that the passphrase's error comes first and alone.
     */
    public static Repository openUnlocking(String location) {
        return open(location, true);
    }

    private static Repository open(String location, boolean background) {
        try {
            return new Repository(StorageFactory.open(location)).unlocked(background);
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.USAGE, "cannot open repository " + location + ": " + e.getMessage(),
                    "pass --repo a local directory or s3://BUCKET/PREFIX");
        }
    }

    public static Repository on(Storage storage) {
        return new Repository(storage).unlocked(false);
    }

    /**
     * Reads repo.json and, for an encrypted repository, unwraps its data key with the command's
     * passphrase ({@link CipherPass}): everything after it goes through {@link EncryptedStorage}.
     * No passphrase, or a wrong one, ends the command here, before anything else is read.
     */
    private Repository unlocked(boolean background) {
        Optional<RepoInfo> i;
        try {
            i = info();
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        if (i.isPresent() && !i.get().encrypted()) {
            try {
                refuseClearInfoOverEncryptedObjects(storage);
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }
        if (i.isPresent() && i.get().encrypted() && !(storage instanceof EncryptedStorage)) {
            try {
                Storage inner = storage;
                KeyEnvelope envelope = i.get().encryption();
                CipherPass.Source pass = passFor(inner); // none is an error now, not when the key is first needed
                if (background) {
                    java.util.concurrent.FutureTask<RepositoryCipher> task = new java.util.concurrent.FutureTask<>(() -> cipherFor(inner, envelope, pass));
                    Thread t = new Thread(task, "pgstrata-key");
                    t.setDaemon(true);
                    t.start();
                    useStorage(new EncryptedStorage(inner, task));
                } else {
                    useStorage(new EncryptedStorage(inner, cipherFor(inner, envelope, pass)));
                }
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }
        return this;
    }

    /**
     * Waits for an encrypted repository's key, unwrapped on its own thread since {@link
     * #openUnlocking}; no passphrase, or a wrong one, is its error here. Does nothing for a
     * repository in the clear or a key already there.
     */
    public Repository awaitKey() {
        if (storage instanceof EncryptedStorage e) {
            e.cipher();
        }
        return this;
    }

    /** From now on, everything goes through {@code encrypted}. */
    private void useStorage(Storage encrypted) {
        storage = encrypted;
        objects = new ObjectStore(encrypted);
    }

    /**
     * {@code inner} through the data key that {@code envelope} wraps, opened with the command's
     * passphrase ({@link CipherPass}); no passphrase, or a wrong one, is its own error.
     */
    static Storage unlock(Storage inner, KeyEnvelope envelope) {
        return new EncryptedStorage(inner, cipherFor(inner, envelope, passFor(inner)));
    }

    /**
     * When the command expects an encrypted repository (it has a passphrase, or encryption was
     * asked for) but {@code inner}'s repo.json is in the clear: refuses a store that holds objects
     * under encrypted names. That repo.json is not the one they were written with (another
     * repository's copy, or replaced by hand); taken as it is, the repository would read as empty
     * (verify: 0 problems) and backups and archived WAL would be written into it in the clear.
     * Lists the whole store, so only for that combination.
     */
    static void refuseClearInfoOverEncryptedObjects(Storage inner) {
        if (CipherPass.current() == null && !CipherPass.encryptNew()) {
            return;
        }
        boolean encrypted = false;
        try {
            for (String key : inner.list("")) {
                if (EncryptedStorage.looksEncrypted(key)) {
                    encrypted = true;
                    break;
                }
            }
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot list repository " + inner.describe() + ": " + e.getMessage(), null);
        }
        if (encrypted) {
            throw new PgstrataException(ErrorCode.CORRUPT, "repository " + inner.describe() + " holds encrypted objects, but its " + INFO_KEY
                    + " is in the clear (no wrapped key): it is not the " + INFO_KEY + " they were written with; nothing was read or written",
                    "restore the repository's own repo.json from a copy");
        }
    }

    /** The command's passphrase for the encrypted repository {@code inner}; none is its own error. */
    private static CipherPass.Source passFor(Storage inner) {
        CipherPass.Source pass = CipherPass.current();
        if (pass == null) {
            throw new PgstrataException(ErrorCode.CIPHER_PASS_MISSING, "repository " + inner.describe() + " is encrypted and no passphrase was given",
                    "pass --cipher-pass-file FILE, set " + CipherPass.ENV + ", or set cipher-pass in the stanza");
        }
        return pass;
    }

    /** The cipher of {@code inner}'s data key, which {@code envelope} wraps for {@code pass}; a wrong passphrase is its own error. */
    private static RepositoryCipher cipherFor(Storage inner, KeyEnvelope envelope, CipherPass.Source pass) {
        byte[] key;
        try {
            key = envelope.unwrap(pass.passphrase());
        } catch (KeyEnvelope.WrongPassphraseException e) {
            throw new PgstrataException(ErrorCode.CIPHER_PASS_WRONG, "the passphrase from " + pass.origin() + " does not open repository "
                    + inner.describe() + "; nothing was read or written", "give the passphrase the repository was created (or last rotated) with");
        } catch (IllegalArgumentException e) { // a key derivation or cost this pgstrata refuses: repo.json was changed
            throw new PgstrataException(ErrorCode.CORRUPT, "repository " + inner.describe() + ": the wrapped key in " + INFO_KEY + " cannot be "
                    + "opened (" + e.getMessage() + "); nothing was read or written", "restore repo.json from a copy");
        }
        RepositoryCipher cipher;
        try {
            cipher = new RepositoryCipher(key);
        } finally {
            java.util.Arrays.fill(key, (byte) 0);
        }
        refuseForeignObjects(inner, cipher);
        return cipher;
    }

    /**
     * Refuses a store whose encrypted objects this repo.json's key did not write: another
     * encrypted repository's repo.json (the same cluster's, sealed for the same passphrase) put
     * in its place. Its key finds none of them, so the repository would read as empty (verify:
     * 0 problems, wal get: not in the archive) and backups would go in beside them under the
     * other key. One look at the store's top level, where every object's name starts with one of
     * {@link #TOP_LEVEL_NAMES}, encrypted.
     */
    private static final List<String> TOP_LEVEL_NAMES = List.of(BACKUP_PREFIX.substring(0, BACKUP_PREFIX.length() - 1),
            LOGICAL_PREFIX.substring(0, LOGICAL_PREFIX.length() - 1), WalArchive.PREFIX.substring(0, WalArchive.PREFIX.length() - 1),
            DrillRecords.PREFIX.substring(0, DrillRecords.PREFIX.length() - 1), WalExpiry.KEY);

    private static void refuseForeignObjects(Storage inner, RepositoryCipher cipher) {
        List<String> names;
        try {
            names = inner.topLevelNames(); // once: one LIST request on S3, for both checks
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot list repository " + inner.describe() + ": " + e.getMessage(), null);
        }
        List<String> foreign = new EncryptedStorage(inner, cipher).foreignNames(TOP_LEVEL_NAMES, names);
        List<String> clear = names.stream().filter(TOP_LEVEL_NAMES::contains).toList();
        if (!clear.isEmpty()) {
            // An encrypted repository writes every one of these under an encrypted name: these were written in the clear, for
            // a repo.json without a key. Taken as it is, the repository would read as empty (list: no backups).
            throw new PgstrataException(ErrorCode.CORRUPT, "repository " + inner.describe() + " holds objects in the clear (" + clear.get(0)
                    + "), but its " + INFO_KEY + " is encrypted: it is not the " + INFO_KEY + " they were written with; nothing was read "
                    + "or written", "restore the repository's own repo.json from a copy");
        }
        if (!foreign.isEmpty()) {
            throw new PgstrataException(ErrorCode.CORRUPT, "repository " + inner.describe() + " holds objects that the key in its " + INFO_KEY
                    + " did not write (" + foreign.get(0) + "): it is not the " + INFO_KEY + " they were written with; nothing was read or written",
                    "restore the repository's own repo.json from a copy");
        }
    }

    private void encryptWith(byte[] dataKey) {
        useStorage(new EncryptedStorage(storage, new RepositoryCipher(dataKey)));
    }

    /**
     * Wraps the data key again for {@code newPassphrase} and replaces repo.json (one atomic
     * write; no other object is touched, none is rewritten). The command's passphrase must open
     * the key first; afterwards only the new one does. Only under the lock.
     */
    public RepoInfo rotatePassphrase(char[] newPassphrase) {
        RepoInfo old = requireInfo();
        if (!old.encrypted()) {
            throw new PgstrataException(ErrorCode.USAGE, "repository " + describe() + " is not encrypted: it has no passphrase to change",
                    "a repository is encrypted when it is created (repo init --encrypt)");
        }
        CipherPass.refuseLineEnd(newPassphrase, "the new passphrase");
        CipherPass.Source pass = CipherPass.current();
        KeyEnvelope rotated;
        try {
            rotated = old.encryption().rewrap(pass.passphrase(), newPassphrase);
        } catch (KeyEnvelope.WrongPassphraseException e) {
            throw new PgstrataException(ErrorCode.CIPHER_PASS_WRONG, "the passphrase from " + pass.origin() + " does not open repository "
                    + describe() + "; nothing was changed", "give the repository's current passphrase");
        }
        RepoInfo next = new RepoInfo(old.formatVersion(), old.systemIdentifier(), old.pgMajor(), old.created(), rotated);
        fence("replacing " + INFO_KEY);
        try {
            storage.putBytes(INFO_KEY, Json.seal(next));
        } catch (IOException e) {
            throw io("write " + INFO_KEY, e);
        }
        info = next;
        return next;
    }

    /** Whether the repository is encrypted (its repo.json holds a wrapped key). */
    public boolean encrypted() {
        return info().map(RepoInfo::encrypted).orElse(false);
    }

    public Storage storage() {
        return storage;
    }

    public ObjectStore objects() {
        return objects;
    }

    public String describe() {
        return storage.describe();
    }

    /** Makes the place the repository lives in when it is missing (an S3 bucket): for a first backup. */
    public Repository prepared() {
        try {
            storage.prepare();
        } catch (IOException e) {
            throw io("prepare the repository", e);
        }
        return this;
    }

    /** The location that opens this repository again, S3 options included. */
    public String location() {
        return storage.location();
    }

    /**
     * The wrapped key in the repo.json of the repository in directory {@code dir} (its seal
     * checked); null when there is none, or the repository is not encrypted. Only for {@link
     * org.pgstrata.storage.crypt.KeyEnvelope#prefetch}: the command's own open reads and checks
     * repo.json again, and a key derived for any other envelope than the one it reads is not used.
     */
    public static KeyEnvelope envelopeIn(java.nio.file.Path dir) throws IOException {
        java.nio.file.Path file = dir.resolve(INFO_KEY);
        if (!java.nio.file.Files.isRegularFile(file) || java.nio.file.Files.size(file) > 1 << 20) {
            return null;
        }
        return envelopeOf(java.nio.file.Files.readAllBytes(file));
    }

    /**
     * {@link #envelopeIn} for any location, an s3:// one included: there the store is opened on
     * the calling thread (the AWS SDK's classes loaded there are the command's too), repo.json
     * read, and the store closed.
     */
    public static KeyEnvelope envelopeAt(String location) throws IOException {
        if (!org.pgstrata.storage.s3.S3Location.isS3(location)) {
            return envelopeIn(java.nio.file.Path.of(location));
        }
        try (Storage s = org.pgstrata.storage.StorageFactory.open(location)) {
            Optional<byte[]> bytes = s.getBytesIfPresent(INFO_KEY);
            return bytes.isEmpty() || bytes.get().length > 1 << 20 ? null : envelopeOf(bytes.get());
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private static KeyEnvelope envelopeOf(byte[] bytes) throws IOException {
        int end = Envelope.bodyEnd(INFO_KEY, bytes);
        // jackson-core's streaming parser alone: databind's start would take this thread 0.15 s, which is the time there is to gain.
        try (com.fasterxml.jackson.core.JsonParser p = new com.fasterxml.jackson.core.JsonFactory()
                .createParser(bytes, Envelope.bodyStart(), end - Envelope.bodyStart())) {
            if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                return null;
            }
            while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                String name = p.getCurrentName();
                com.fasterxml.jackson.core.JsonToken value = p.nextToken();
                if (!name.equals("encryption") || value != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                    p.skipChildren();
                    continue;
                }
                java.util.Map<String, String> f = new java.util.HashMap<>();
                while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                    String field = p.getCurrentName();
                    p.nextToken();
                    if (p.currentToken().isScalarValue()) {
                        f.put(field, p.getValueAsString());
                    } else {
                        p.skipChildren();
                    }
                }
                return new KeyEnvelope(f.get("kdf"), Integer.parseInt(f.getOrDefault("memoryKiB", "0")),
                        Integer.parseInt(f.getOrDefault("iterations", "0")), f.get("salt"), f.get("nonce"), f.get("wrapped"));
            }
            return null;
        }
    }

    /** repo.json, if the repository has been initialised. */
    public Optional<RepoInfo> info() {
        if (info != null) {
            return Optional.of(info);
        }
        try {
            Optional<byte[]> bytes = storage.getBytesIfPresent(INFO_KEY);
            if (bytes.isEmpty()) {
                return Optional.empty();
            }
            RepoInfo read = Json.unseal(INFO_KEY, bytes.get(), RepoInfo.class);
            if (read.formatVersion() > RepoInfo.ENCRYPTED_FORMAT_VERSION) {
                throw new PgstrataException(ErrorCode.REPO_MISMATCH, "repository " + describe() + " has format " + read.formatVersion()
                        + ", written by a newer pgstrata than this one (format " + RepoInfo.ENCRYPTED_FORMAT_VERSION + ")",
                        "use the pgstrata that wrote it, or a newer one");
            }
            if (read.formatVersion() >= RepoInfo.ENCRYPTED_FORMAT_VERSION != read.encrypted()) {
                throw new PgstrataException(ErrorCode.CORRUPT, "repository " + describe() + ": " + INFO_KEY + " has format "
                        + read.formatVersion() + (read.encrypted() ? " and" : " but no") + " wrapped key",
                        "restore repo.json from a copy");
            }
            info = read;
            return Optional.of(info);
        } catch (CorruptObjectException e) {
            throw new PgstrataException(ErrorCode.CORRUPT, "repository " + describe() + ": " + e.getMessage(),
                    "restore repo.json from a copy, or point --repo at the right repository");
        } catch (IOException e) {
            throw io("read " + INFO_KEY, e);
        }
    }

    /** repo.json, or a clear error when the location is not a repository (or has lost its repo.json). */
    public RepoInfo requireInfo() {
        Optional<RepoInfo> i = info();
        if (i.isPresent()) {
            return i.get();
        }
        if (hasContent()) {
            throw lostInfo();
        }
        throw new PgstrataException(ErrorCode.NOT_FOUND, "no pgstrata repository at " + describe() + " (repo.json is missing)",
                "check --repo, or create one with 'pgstrata repo init' or a first backup");
    }

    /**
     * Whether a store read without a key (no repo.json says it is encrypted) holds objects under
     * encrypted names: an encrypted repository that lost its repo.json, which held its key.
     */
    private boolean holdsEncryptedObjects() throws IOException {
        if (storage instanceof EncryptedStorage) {
            return false;
        }
        for (String key : storage.list("")) {
            if (EncryptedStorage.looksEncrypted(key)) {
                return true;
            }
        }
        return false;
    }

    private PgstrataException lostKey() {
        return new PgstrataException(ErrorCode.CORRUPT, "repository " + describe() + " holds encrypted objects, but its repo.json, "
                + "which held their key, is missing: a new one would not open them; nothing was written", "restore repo.json from a copy");
    }

    /**
     * The refusal of a location that holds backups or archived WAL but no repo.json. An encrypted
     * repository's is not sent to repo init: its key went with the file, and only a copy of it opens them.
     */
    private PgstrataException lostInfo() {
        try {
            if (holdsEncryptedObjects()) {
                return lostKey();
            }
        } catch (IOException e) {
            throw io("list the repository", e);
        }
        return new PgstrataException(ErrorCode.CORRUPT, "repository " + describe() + " holds backups or archived WAL, but its repo.json is "
                + "missing, so which cluster they belong to cannot be told; nothing was done",
                "restore repo.json from a copy; or, if they are this cluster's, run 'pgstrata repo init --repo " + describe()
                        + " --pgdata DIR', which checks every backup and archived WAL segment against the cluster before re-creating it");
    }

    /** Whether the location holds backups, logical backups or archived WAL (a repository, with or without its repo.json). */
    public boolean hasContent() {
        try {
            for (String prefix : List.of(BACKUP_PREFIX, LOGICAL_PREFIX, WalArchive.PREFIX)) {
                if (!storage.list(prefix).isEmpty()) {
                    return true;
                }
            }
            return holdsEncryptedObjects();
        } catch (IOException e) {
            throw io("list the repository", e);
        }
    }

    /**
     * Creates repo.json for a cluster (and its bucket, on S3). Returns the existing one when it
     * already serves that cluster, and refuses another cluster; a location that holds backups
     * but no repo.json is refused too (see {@link #recreateInfo}): it is never silently given to
     * whichever cluster comes first.
     */
    public RepoInfo initialize(String systemIdentifier, int pgMajor, Clock clock) {
        Optional<RepoInfo> existing = info();
        if (existing.isPresent()) {
            checkCluster(systemIdentifier, pgMajor);
            return existing.get();
        }
        if (hasContent()) {
            throw lostInfo();
        }
        return writeInfo(systemIdentifier, pgMajor, clock);
    }

    private RepoInfo writeInfo(String systemIdentifier, int pgMajor, Clock clock) {
        RepoInfo created = new RepoInfo(RepoInfo.FORMAT_VERSION, systemIdentifier, pgMajor, Instant.now(clock).toString());
        byte[] dataKey = null;
        if (CipherPass.encryptNew()) {
            CipherPass.Source pass = CipherPass.current();
            if (pass == null) {
                throw new PgstrataException(ErrorCode.CIPHER_PASS_MISSING, "encryption was asked for repository " + describe()
                        + " and no passphrase was given; nothing was written",
                        "pass --cipher-pass-file FILE, set " + CipherPass.ENV + ", or set cipher-pass in the stanza");
            }
            CipherPass.refuseLineEnd(pass.passphrase(), "the passphrase from " + pass.origin());
            dataKey = KeyEnvelope.newDataKey();
            created = new RepoInfo(RepoInfo.ENCRYPTED_FORMAT_VERSION, systemIdentifier, pgMajor, created.created(),
                    KeyEnvelope.wrap(dataKey, pass.passphrase(), KeyEnvelope.DEFAULT_MEMORY_KIB, KeyEnvelope.DEFAULT_ITERATIONS));
        }
        try {
            storage.prepare(); // an S3 bucket that does not exist yet
            storage.checkConditionalWrites();
            if (!storage.putBytesIfAbsent(INFO_KEY, Json.seal(created))) {
                // Another command created the repository meanwhile: its repo.json (and its key) it is.
                if (dataKey != null) {
                    java.util.Arrays.fill(dataKey, (byte) 0);
                }
                RepoInfo other = info().orElseThrow(() -> new IOException(INFO_KEY + " was created and removed meanwhile"));
                if (other.encrypted() && !(storage instanceof EncryptedStorage)) {
                    useStorage(unlock(storage, other.encryption()));
                }
                checkCluster(systemIdentifier, pgMajor);
                return other;
            }
        } catch (org.pgstrata.storage.NoConditionalWritesException e) {
            throw noConditionalWrites(e);
        } catch (IOException e) {
            throw io("write " + INFO_KEY, e);
        }
        info = created;
        if (dataKey != null) {
            encryptWith(dataKey);
            java.util.Arrays.fill(dataKey, (byte) 0);
        } else if (CipherPass.current() != null) {
            clearDespitePassphrase = "repository " + describe() + " was created in the clear: a passphrase was given ("
                    + CipherPass.current().origin() + "), but only repo init --encrypt, or encrypt = true in the stanza, encrypts a new"
                    + " repository; to encrypt it, remove it and create it again with 'pgstrata repo init --encrypt'";
        }
        return created;
    }

    /**
     * What to warn of when this command created the repository in the clear although it has a
     * passphrase (from --cipher-pass-file, the environment or the stanza), which alone does not
     * ask for encryption; empty otherwise.
     */
    public Optional<String> createdClearDespitePassphrase() {
        return Optional.ofNullable(clearDespitePassphrase);
    }

    /**
     * Re-creates a lost repo.json for the cluster {@code systemIdentifier}, after checking that
     * every backup (physical and logical) and every archived WAL segment belongs to it; refuses
     * (naming the first that does not) otherwise. Reads the whole archive. Returns what it
     * checked, for the caller to report.
     */
    public String recreateInfo(String systemIdentifier, int pgMajor, Clock clock) {
        if (info().isPresent()) {
            return null;
        }
        try {
            if (holdsEncryptedObjects()) {
                throw lostKey();
            }
        } catch (IOException e) {
            throw io("list the repository", e);
        }
        if (CipherPass.encryptNew()) {
            // Its backups and archived WAL are in the clear: a repo.json with a key would hide every one of them (the repository
            // would read as empty, and new backups would go in beside them under the key).
            throw new PgstrataException(ErrorCode.USAGE, "repository " + describe() + " holds backups or archived WAL in the clear, "
                    + "but encryption was asked for (--encrypt, or encrypt = true in the stanza): an encrypted repo.json would hide "
                    + "them; nothing was written", "re-create it as it was, without --encrypt (and without encrypt = true); a "
                    + "repository's encryption is chosen when it is created");
        }
        int backups = 0;
        for (String id : backupIds()) {
            if (!exists(manifestKey(id))) {
                continue;
            }
            Manifest m;
            try {
                m = readManifest(id, new long[2], true); // only its owner is needed
            } catch (CorruptObjectException e) {
                throw new PgstrataException(ErrorCode.CORRUPT, "cannot re-create repo.json: the manifest of backup " + id + " is damaged ("
                        + e.getMessage() + "); nothing was written", "delete that backup's directory, or restore repo.json from a copy");
            } catch (IOException e) {
                throw io("read manifest " + manifestKey(id), e);
            }
            checkOwner("backup " + id, m.systemIdentifier(), m.pgMajor(), systemIdentifier, pgMajor);
            backups++;
        }
        for (String id : logicalIds()) {
            if (!exists(logicalManifestKey(id))) {
                continue;
            }
            LogicalManifest m;
            try {
                m = readLogicalManifest(id);
            } catch (CorruptObjectException e) {
                throw new PgstrataException(ErrorCode.CORRUPT, "cannot re-create repo.json: the manifest of logical backup " + id
                        + " is damaged (" + e.getMessage() + "); nothing was written", "delete that backup's directory, or restore repo.json from a copy");
            } catch (IOException e) {
                throw io("read manifest " + logicalManifestKey(id), e);
            }
            checkOwner("logical backup " + id, m.systemIdentifier(), m.pgMajor(), systemIdentifier, pgMajor);
            backups++;
        }
        int segments = 0;
        WalArchive archive = new WalArchive(storage);
        try {
            for (WalArchive.Entry e : archive.entries()) {
                if (!org.pgstrata.postgres.WalFileName.isSegment(e.name())) {
                    continue;
                }
                org.pgstrata.postgres.WalSegmentHeader h = org.pgstrata.postgres.WalSegmentHeader.parse(archive.read(e));
                String owner = h == null ? "(no segment header)" : h.systemIdentifierText();
                checkOwner("archived WAL segment " + e.name(), owner, pgMajor, systemIdentifier, pgMajor);
                segments++;
            }
        } catch (CorruptObjectException e) {
            throw new PgstrataException(ErrorCode.CORRUPT, "cannot re-create repo.json: " + e.getMessage() + "; nothing was written",
                    "restore repo.json from a copy");
        } catch (IOException e) {
            throw io("read the WAL archive", e);
        }
        writeInfo(systemIdentifier, pgMajor, clock);
        return backups + " backups and " + segments + " archived WAL segments checked";
    }

    private void checkOwner(String what, String owner, int ownerMajor, String systemIdentifier, int pgMajor) {
        if (!owner.equals(systemIdentifier) || ownerMajor != pgMajor) {
            throw new PgstrataException(ErrorCode.REPO_MISMATCH, "cannot re-create repo.json for the cluster with system identifier "
                    + systemIdentifier + " (PostgreSQL " + pgMajor + "): " + what + " belongs to " + owner + " (PostgreSQL " + ownerMajor
                    + "); nothing was written", "point --pgdata at the cluster whose backups these are, or use a new repository");
        }
    }

    /**
     * Whether backup {@code id}'s block map is missing while its manifest is there: what a removal
     * (delete, expire) stopped after its first step leaves, the backup's data still in place.
     */
    public boolean blockMapMissing(String id) {
        return exists(manifestKey(id)) && !exists(BlockMap.key(id));
    }

    private boolean exists(String key) {
        try {
            return storage.exists(key);
        } catch (IOException e) {
            throw io("read " + key, e);
        }
    }

    /** Refuses a cluster other than the one this repository serves. */
    public void checkCluster(String systemIdentifier, int pgMajor) {
        RepoInfo info = requireInfo();
        requireEncryptedIfAsked();
        if (!info.systemIdentifier().equals(systemIdentifier)) {
            throw new PgstrataException(ErrorCode.REPO_MISMATCH,
                    "repository " + describe() + " belongs to the cluster with system identifier " + info.systemIdentifier()
                            + ", not " + systemIdentifier,
                    "use a separate repository for each cluster");
        }
        if (info.pgMajor() != pgMajor) {
            throw new PgstrataException(ErrorCode.REPO_MISMATCH,
                    "repository " + describe() + " holds PostgreSQL " + info.pgMajor() + " backups, the cluster runs " + pgMajor,
                    "start a new repository after a major upgrade");
        }
    }

    /** Takes the writer lock or fails with the holder's description. */
    public Storage.RepositoryLock lock(String command, Clock clock) {
        String holder = "pgstrata " + command + " (pid " + ProcessHandle.current().pid() + " on " + hostName()
                + ", since " + Instant.now(clock) + ")";
        try {
            Storage.RepositoryLock lock = storage.lock(holder);
            held = lock;
            return new Storage.RepositoryLock() {
                @Override
                public void check() throws IOException {
                    lock.check();
                }

                @Override
                public void close() throws IOException {
                    held = null;
                    lock.close();
                }
            };
        } catch (LockedException e) {
            throw new PgstrataException(ErrorCode.LOCKED, e.getMessage(),
                    "wait for that command to finish; the lock is released when it exits");
        } catch (IOException e) {
            throw io("take the lock", e);
        }
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            String jvm = ManagementFactory.getRuntimeMXBean().getName();
            int at = jvm.indexOf('@');
            return at >= 0 ? jvm.substring(at + 1) : "localhost";
        }
    }

    public static String manifestKey(String backupId) {
        return BACKUP_PREFIX + backupId + "/" + MANIFEST_NAME;
    }

    /**
     * The backups of the repository: those whose manifest reads back intact and in its place,
     * oldest first, and those whose manifest does not (damaged, mislabelled, or of another
     * system), with what is wrong. Read once, for commands that need both.
     */
    public record Catalogue<M>(List<M> backups, Map<String, PgstrataException> damaged) {
        /** The damaged ones' ids and what is wrong with each. */
        public Map<String, String> problems() {
            Map<String, String> m = new java.util.TreeMap<>();
            damaged.forEach((id, e) -> m.put(id, e.getMessage()));
            return m;
        }

        /**
         * Refuses a choice that depends on knowing every backup (the newest, N steps back, the
         * reference of an incremental) while a manifest cannot be read: the one it cannot read
         * might be the one to choose.
         */
        public void requireNoDamage(String choice, String hint) {
            if (damaged.isEmpty()) {
                return;
            }
            var first = damaged.entrySet().iterator().next();
            ErrorCode code = damaged.values().stream().anyMatch(e -> e.code() == ErrorCode.REPO_MISMATCH) ? ErrorCode.REPO_MISMATCH
                    : ErrorCode.CORRUPT;
            throw new PgstrataException(code, "cannot " + choice + ": " + first.getValue().getMessage()
                    + (damaged.size() > 1 ? " (and " + (damaged.size() - 1) + " more backup(s) cannot be read)" : "")
                    + "; it might be the one to choose, so nothing was done", hint);
        }
    }

    /** Every backup directory's manifest, read and checked once: see {@link Catalogue}. */
    public Catalogue<Manifest> catalogue() {
        return scan(listManifests(BACKUP_PREFIX), this::catalogued, BY_STOP);
    }

    private static final Comparator<Manifest> BY_STOP = Comparator.comparing((Manifest m) -> Lsn.parse(m.stopLsn())).thenComparing(Manifest::id);

    /**
     * {@link #catalogue()} with every file list read and its entries checked now: a manifest
     * whose entries do not belong to it (an edit sealed again) is among the damaged, as one whose
     * header or envelope is. {@link #catalogue()} reads headers only and checks a list when it is
     * first used (the commands that choose one backup use few of the lists).
     */
    public Catalogue<Manifest> checkedCatalogue() {
        // Read whole at once (its header, then its list through catalogued's SoftFiles, was two reads of the same object),
        // its list still held softly.
        return scan(listManifests(BACKUP_PREFIX), id -> {
            long[] crc = new long[2];
            Manifest m = manifest(id, crc, false);
            return m.withFiles(new SoftFiles(m.files(), rereading(id, crc)));
        }, BY_STOP);
    }

    /**
     * Reads the manifest of each of {@code ids} whose manifest was listed ({@link #listIds}):
     * intact ones in {@code order}, the others with what is wrong. One removed since the listing
     * (by an expire that ran meanwhile) is left out, as if it had not been listed.
     */
    private <M> Catalogue<M> scan(Listed ids, java.util.function.Function<String, M> read, Comparator<M> order) {
        List<String> listed = ids.ids().entrySet().stream().filter(Map.Entry::getValue).map(Map.Entry::getKey).toList();
        List<Object> outcomes = readEach(listed, ids.manifestSizes(), read);
        List<M> result = new ArrayList<>();
        Map<String, PgstrataException> damaged = new java.util.TreeMap<>();
        for (int i = 0; i < listed.size(); i++) {
            try {
                if (outcomes.get(i) instanceof RuntimeException e) {
                    throw e;
                }
                @SuppressWarnings("unchecked")
                M m = (M) outcomes.get(i);
                result.add(m);
            } catch (PgstrataException e) {
                if (e.code() == ErrorCode.NOT_FOUND) {
                    continue;
                }
                if (e.code() != ErrorCode.CORRUPT && e.code() != ErrorCode.REPO_MISMATCH) {
                    throw e;
                }
                damaged.put(listed.get(i), e);
            }
        }
        for (String id : ids.lostManifests()) {
            String key = ids.prefix() + id + "/" + MANIFEST_NAME;
            try {
                if (storage.exists(key)) {
                    continue; // a backup writing its manifest just then: it was not there when the listing was made
                }
            } catch (IOException e) {
                throw io("read manifest " + key, e);
            }
            damaged.put(id, lostManifest(ids.prefix(), id));
        }
        result.sort(order);
        return new Catalogue<>(result, damaged);
    }

    /**
     * Manifests read at once, at most: on S3 each is a request, and a repository of a month of
     * daily backups has dozens (8 at once, 70 backups waited 9 round trips; the stored bytes read
     * at once stay bounded by {@link #MANIFEST_KIB_AT_ONCE}).
     */
    static final int MANIFEST_READERS = 32;
    /**
     * Stored manifest bytes read at once, at most, in KiB: a manifest takes about 18 stored bytes
     * and 400 bytes of heap (its JSON, then its list) per file, so 1 MiB of them is some 25 MB of
     * heap; a manifest larger than that (a cluster of more than about 55,000 files) is read alone.
     */
    public static final int MANIFEST_KIB_AT_ONCE = 1024;

    /**
     * {@code read} of each of {@code ids}: in the order of {@code ids}, each its result or the
     * RuntimeException it threw, for the caller to judge in that order as if it had read them one
     * after another. With their sizes ({@code sizes}: listed by S3, where each read is a round
     * trip, or estimated) up to {@link #MANIFEST_READERS} are read at once, within {@link
     * #MANIFEST_KIB_AT_ONCE}; one after another, a catalogue of N backups waited N round trips.
     * Without (a directory's catalogue) they are read one after another, as they always were. An
     * Error (out of memory) is thrown as it is.
     */
    private <M> List<Object> readEach(List<String> ids, Map<String, Long> sizes, java.util.function.Function<String, M> read) {
        java.util.concurrent.Semaphore budget = new java.util.concurrent.Semaphore(MANIFEST_KIB_AT_ONCE, true);
        List<java.util.concurrent.Callable<Object>> tasks = new ArrayList<>();
        for (String id : ids) {
            int kib = (int) Math.max(1, Math.min(MANIFEST_KIB_AT_ONCE, (sizes.getOrDefault(id, 0L) + 1023) / 1024));
            tasks.add(() -> {
                budget.acquireUninterruptibly(kib);
                try {
                    return read.apply(id);
                } catch (RuntimeException e) {
                    return e;
                } finally {
                    budget.release(kib);
                }
            });
        }
        if (tasks.size() <= 1 || sizes.isEmpty()) {
            List<Object> inOrder = new ArrayList<>();
            for (var t : tasks) {
                try {
                    inOrder.add(t.call());
                } catch (Exception e) { // the task returns what it threw: nothing else reaches here
                    throw new IllegalStateException(e);
                }
            }
            return inOrder;
        }
        try {
            info(); // read once here, not by every reader at once; what is wrong with it each read reports as before
        } catch (RuntimeException e) {
            // said by the reads
        }
        try {
            return org.pgstrata.api.Parallel.run(Math.min(MANIFEST_READERS, tasks.size()), "pgstrata-manifests", tasks);
        } catch (IOException e) { // only an interrupt: each task returns what it threw
            throw io("read the manifests", e);
        }
    }

    /**
     * Every complete backup whose manifest reads back intact, oldest first. A damaged manifest
     * is left out (so that the other backups stay usable) and named by {@link #damagedBackups()};
     * a choice that depends on all of them uses {@link #catalogue()} and refuses. Every file list
     * is read and checked ({@link #checkedCatalogue()}).
     */
    public List<Manifest> backups() {
        return checkedCatalogue().backups();
    }

    /**
     * The backups that build on backup {@code id}, directly or through others, newest first:
     * removing {@code id} would break every one of them.
     */
    public static List<Manifest> dependants(String id, List<Manifest> backups) {
        Set<String> broken = new java.util.HashSet<>(Set.of(id));
        List<Manifest> result = new ArrayList<>();
        boolean grew = true;
        while (grew) {
            grew = false;
            for (Manifest m : backups) {
                if (!broken.contains(m.id()) && references(m).stream().anyMatch(broken::contains)) {
                    broken.add(m.id());
                    result.add(m);
                    grew = true;
                }
            }
        }
        result.sort(Comparator.comparing((Manifest m) -> Lsn.parse(m.stopLsn())).reversed());
        return result;
    }

    /** Every backup whose files {@code m} reads. */
    public static Set<String> references(Manifest m) {
        Set<String> refs = new java.util.HashSet<>();
        if (m.reference() != null) {
            refs.add(m.reference());
        }
        if (m.files() instanceof SoftFiles soft) {
            refs.addAll(soft.references());
            return refs;
        }
        for (FileEntry f : m.files()) {
            if (f.reference() != null) {
                refs.add(f.reference());
            }
        }
        return refs;
    }

    /**
     * The backups a restore of {@code m} starts from, oldest (the full) first, ending with {@code m}.
     * A reference that {@code byId} does not have (its manifest is damaged, or it is gone) still
     * heads the chain, though what it builds on is unknown: a chain cut short there would look like
     * one that restores without it.
     */
    public static List<String> chainOf(Manifest m, Map<String, Manifest> byId) {
        java.util.LinkedList<String> chain = new java.util.LinkedList<>();
        Manifest at = m;
        while (at != null && chain.size() <= byId.size()) {
            chain.addFirst(at.id());
            if (at.reference() != null && !byId.containsKey(at.reference())) {
                chain.addFirst(at.reference());
            }
            at = at.reference() == null ? null : byId.get(at.reference());
        }
        return chain;
    }

    /**
     * Removes a complete backup: its manifest first (from then on it does not exist), then those
     * of its objects that no other backup reads (a newer full of a reverse-delta repository reads
     * the unchanged files of older ones). An interruption leaves only unread objects, which the
     * next backup removes. Only call while holding the lock, after checking that nothing depends
     * on it.
     */
    public void removeBackup(String id) {
        removeBackup(id, Set.of());
    }

    /** {@link #removeBackup(String)} while the damaged backups {@code alsoGoing} are being removed too (they do not make it refuse). */
    public void removeBackup(String id, Set<String> alsoGoing) {
        referencedKeys(alsoGoing); // refuses before anything is removed when a manifest is damaged
        fence("removing backup " + id);
        try {
            forgetManifest(id);
            // Its block map first: a removal stopped after the manifest then leaves a leftover, not a backup that lost its manifest.
            storage.delete(BlockMap.key(id));
            org.pgstrata.api.TestHooks.haltAt("backup-mark-removed");
            storage.delete(manifestKey(id));
            org.pgstrata.api.TestHooks.haltAt("backup-manifest-removed");
            DrillRecords.removeFor(storage, id); // its drills proved a backup that is gone
        } catch (IOException e) {
            throw io("remove backup " + id, e);
        }
        collectGarbage(id, referencedKeys(alsoGoing));
    }

    /** Backups whose manifest exists but is damaged, mislabelled or of another system: id and what is wrong. */
    public Map<String, String> damagedBackups() {
        return checkedCatalogue().problems();
    }

    /** Every logical backup directory, complete or not. */
    public Set<String> logicalBackupIds() {
        return new LinkedHashSet<>(listIds(LOGICAL_PREFIX).keySet());
    }

    /** Every backup directory, complete or not. */
    public Set<String> backupIds() {
        return new LinkedHashSet<>(listIds(BACKUP_PREFIX).keySet());
    }

    /**
     * The ids under {@code prefix} ({@link #BACKUP_PREFIX} or {@link #LOGICAL_PREFIX}), each with
     * whether its manifest is among the listed keys: one listing, and no request per backup to
     * ask whether its manifest exists.
     */
    private Map<String, Boolean> listIds(String prefix) {
        try {
            return idsOf(prefix, storage.list(prefix));
        } catch (IOException e) {
            throw io(prefix.equals(LOGICAL_PREFIX) ? "list logical backups" : "list backups", e);
        }
    }

    private static Map<String, Boolean> idsOf(String prefix, java.util.Collection<String> keys) {
        Map<String, Boolean> ids = new LinkedHashMap<>();
        for (String key : keys) {
            String rest = key.substring(prefix.length());
            int slash = rest.indexOf('/');
            if (slash > 0) {
                ids.merge(rest.substring(0, slash), rest.substring(slash + 1).equals(MANIFEST_NAME), Boolean::logicalOr);
            }
        }
        return ids;
    }

    /**
     * {@link #listIds}, with each manifest's stored size where the store lists sizes with the names
     * (S3), else none, and the backups whose manifest is lost ({@link #lostManifests}).
     */
    private record Listed(String prefix, Map<String, Boolean> ids, Map<String, Long> manifestSizes, Set<String> lostManifests) {
    }

    /**
     * Of the backup directories among {@code keys} without a manifest, those that hold the object a
     * backup writes just before its manifest, and a removal deletes just before it ({@link
     * #removeBackup}, {@link #removeLogical}): a physical backup's block map, written after
     * pg_backup_stop and its WAL; a logical backup's end mark ({@link #LOGICAL_END_NAME}), written
     * after pg_dump. Such a directory is no leftover of a killed backup, but a backup that ran to
     * its end and lost its manifest (deleted by hand, a disk's damage, or a kill in the instant
     * between the two writes): damaged, and kept. Without this, verify passed over it and the next
     * backup removed what was left of it.
     */
    private static Set<String> lostManifests(String prefix, Map<String, Boolean> ids, java.util.Collection<String> keys) {
        String mark = prefix.equals(BACKUP_PREFIX) ? BlockMap.KEY_NAME : LOGICAL_END_NAME;
        Set<String> lost = new java.util.TreeSet<>();
        for (String key : keys) {
            String rest = key.substring(prefix.length());
            int slash = rest.indexOf('/');
            if (slash > 0 && rest.substring(slash + 1).equals(mark) && !ids.getOrDefault(rest.substring(0, slash), true)) {
                lost.add(rest.substring(0, slash));
            }
        }
        return lost;
    }

    /** The error for backup {@code id} under {@code prefix}, whose manifest is lost while its directory shows it ran to its end. */
    private PgstrataException lostManifest(String prefix, String id) {
        boolean logical = prefix.equals(LOGICAL_PREFIX);
        return new PgstrataException(ErrorCode.CORRUPT, "manifest of " + (logical ? "logical backup " : "backup ") + id + " is missing, though "
                + "the backup ran to its end (its " + (logical ? "end mark" : "block map") + ", written just before the manifest, is there): "
                + "it cannot be restored, and what is left of it is kept",
                "put " + (logical ? logicalManifestKey(id) : manifestKey(id)) + " back from a copy of the repository, or remove the backup "
                        + "with 'pgstrata delete --repo " + describe() + " --backup " + id + "'");
    }

    /**
     * The object a logical backup writes just before its manifest, and a removal deletes just
     * before it: a directory that holds it without a manifest lost its manifest ({@link #lostManifests}).
     * Logical backups written before it existed have none.
     */
    public static final String LOGICAL_END_NAME = "end";

    private Listed listManifests(String prefix) {
        try {
            Optional<Map<String, Long>> sizes = storage.listedSizes(prefix);
            if (sizes.isEmpty()) {
                List<String> keys = storage.list(prefix);
                Map<String, Boolean> ids = idsOf(prefix, keys);
                return new Listed(prefix, ids, Map.of(), lostManifests(prefix, ids, keys));
            }
            List<String> keys = new ArrayList<>(sizes.get().keySet());
            java.util.Collections.sort(keys);
            Map<String, Boolean> ids = idsOf(prefix, keys);
            Map<String, Long> manifestSizes = new java.util.HashMap<>();
            for (String id : ids.keySet()) {
                Long size = sizes.get().get(prefix + id + "/" + MANIFEST_NAME);
                if (size != null) {
                    manifestSizes.put(id, size);
                }
            }
            return new Listed(prefix, ids, manifestSizes, lostManifests(prefix, ids, keys));
        } catch (IOException e) {
            throw io(prefix.equals(LOGICAL_PREFIX) ? "list logical backups" : "list backups", e);
        }
    }

    /**
     * Backup directories without a manifest that hold nothing any manifest reads: left by a
     * backup that failed or was killed. (A directory whose manifest was removed may still hold
     * objects that newer backups read; it is not incomplete, and they are kept. One that holds its
     * block map lost its manifest: it is among the damaged, see {@link #lostManifests}. While a
     * manifest is damaged, only empty directories are named: whether it reads the others' objects
     * cannot be told.)
     */
    public List<String> incompleteBackups() {
        List<String> result = new ArrayList<>();
        Set<String> live = null;
        Listed listed = listManifests(BACKUP_PREFIX);
        for (String id : listed.ids().keySet()) {
            if (listed.lostManifests().contains(id)) {
                continue; // ran to its end: damaged, not a leftover (see lostManifests)
            }
            try {
                if (!storage.exists(manifestKey(id))) {
                    if (live == null) {
                        // With a damaged manifest present, nobody can tell whether it reads objects here (a reverse full reads the
                        // directories of older backups, removed ones too): kept, and not named, instead of failing the backup or
                        // verify that asks; the next run after the damaged backup is deleted or put back judges it.
                        Catalogue<Manifest> c = checkedCatalogue();
                        if (!c.damaged().isEmpty()) {
                            break;
                        }
                        live = referencedKeys(c, Set.of());
                    }
                    String prefix = BACKUP_PREFIX + id + "/";
                    if (live.stream().noneMatch(k -> k.startsWith(prefix))) {
                        result.add(id);
                    }
                }
            } catch (IOException e) {
                throw io("list backups", e);
            }
        }
        try {
            for (String id : emptyIds(BACKUP_PREFIX)) {
                if (!result.contains(id)) {
                    result.add(id);
                }
            }
        } catch (IOException e) {
            throw io("list backups", e);
        }
        return result;
    }

    /** The ids under {@code prefix} whose directory holds nothing (a backup killed before its first file): no key names them. */
    private List<String> emptyIds(String prefix) throws IOException {
        return storage.emptyDirectories(prefix).stream().map(d -> d.substring(prefix.length(), d.length() - 1)).toList();
    }

    /**
     * Whether {@code id} names a backup directory without its manifest: what a failed backup, or a
     * removal stopped after its first step, left (also one whose objects a kept backup still reads).
     */
    public boolean incompleteBackup(String id) {
        try {
            return backupIds().contains(id) && !storage.exists(manifestKey(id));
        } catch (IOException e) {
            throw io("list backups", e);
        }
    }

    /**
     * Whether backup {@code id}'s directory, its manifest gone, holds only objects that other
     * backups' manifests read (a newer full reads its unchanged files where an older backup stored
     * them): no leftover of an interrupted run, just their objects in its place.
     */
    public boolean onlyObjectsOthersRead(String id) {
        Set<String> live = referencedKeys();
        try {
            return live.containsAll(storage.list(BACKUP_PREFIX + id + "/"));
        } catch (IOException e) {
            throw io("list backup " + id, e);
        }
    }

    /** Removes what a failed backup left. Only call while holding the lock. */
    public void removeIncomplete(String id) {
        fence("removing incomplete backup " + id);
        try {
            if (storage.exists(manifestKey(id))) {
                throw new IllegalStateException("backup " + id + " is complete");
            }
        } catch (IOException e) {
            throw io("remove incomplete backup " + id, e);
        }
        String prefix = BACKUP_PREFIX + id + "/";
        Set<String> live = referencedKeys();
        try {
            if (live.stream().anyMatch(k -> k.startsWith(prefix))) {
                collectGarbage(id, live);
            } else {
                storage.deletePrefix(prefix); // its half-written temporary files too
            }
        } catch (IOException e) {
            throw io("remove incomplete backup " + id, e);
        }
    }

    /** How old a half-written file under archive/ must be to count as a killed wal push's: no push of one segment takes that long. */
    static final java.time.Duration ARCHIVE_LEFTOVER_AGE = java.time.Duration.ofDays(1);

    /** Removes half-written files of killed backups. Only call while holding the lock. */
    public void removeTemporary() {
        try {
            // Fenced only when there is something to remove: on S3 the fence waits for the lease to be read back.
            storage.deleteTemporary(BACKUP_PREFIX, () -> fence("removing half-written files"));
            storage.deleteTemporary(LOGICAL_PREFIX, () -> fence("removing half-written files"));
        } catch (IOException e) {
            throw io("remove half-written files", e);
        }
    }

    /**
     * Removes what wal pushes and drills killed a day ago or more left half-written under archive/
     * and drill/, where they write without the lock: only age tells such a leftover from a write
     * in progress. For expire, which goes through the archive anyway (a backup would walk it for
     * nothing). Only call while holding the lock.
     */
    public void removeArchiveLeftovers() {
        try {
            java.time.Instant before = java.time.Instant.now().minus(ARCHIVE_LEFTOVER_AGE);
            storage.deleteTemporary(WalArchive.PREFIX, before, () -> fence("removing half-written files"));
            storage.deleteTemporary(DrillRecords.PREFIX, before, () -> fence("removing half-written files"));
        } catch (IOException e) {
            throw io("remove half-written files", e);
        }
    }

    /**
     * Every object key some intact manifest reads. With a damaged manifest present nobody can
     * tell what it reads, so this throws rather than let garbage collection guess.
     */
    public Set<String> referencedKeys() {
        return referencedKeys(Set.of());
    }

    /** {@link #referencedKeys()}, but a damaged manifest of one of {@code removing} does not count: it is being removed. */
    Set<String> referencedKeys(Set<String> removing) {
        // Every list is read below anyway: checked first, so that one damaged in its entries is among the damaged (and may be the one removed).
        return referencedKeys(checkedCatalogue(), removing);
    }

    /**
     * Refuses, before anything is removed, while a backup of catalogue {@code c} other than those
     * in {@code removing} cannot be read: nobody can tell which objects it reads.
     */
    public void requireOthersReadable(Catalogue<Manifest> c, Set<String> removing) {
        for (var d : c.damaged().entrySet()) {
            if (!removing.contains(d.getKey())) {
                throw new PgstrataException(d.getValue().code(), "cannot tell which objects are still needed: backup " + d.getKey()
                        + " cannot be read (" + d.getValue().getMessage() + "); nothing was removed",
                        "run 'pgstrata verify --repo " + describe() + "', and delete the damaged backup first");
            }
        }
    }

    /** {@link #referencedKeys(Set)} of catalogue {@code c}, read and checked ({@link #checkedCatalogue()}). */
    private Set<String> referencedKeys(Catalogue<Manifest> c, Set<String> removing) {
        requireOthersReadable(c, removing);
        Set<String> keys = new java.util.HashSet<>();
        for (Manifest m : c.backups()) {
            if (removing.contains(m.id())) {
                continue;
            }
            for (FileEntry f : m.files()) {
                if (f.object() != null) {
                    keys.add(f.object().key());
                }
            }
            for (WalEntry w : m.wal()) {
                keys.add(w.object().key());
            }
            if (m.blockMap() != null) {
                keys.add(m.blockMap().key());
            }
        }
        return keys;
    }

    /**
     * Removes a backup whose manifest cannot be read (damaged, mislabelled, or another system's):
     * its manifest, then those objects in its directory that no intact manifest reads. Only under
     * the lock; the caller checks that no intact backup builds on it.
     */
    public void removeDamagedBackup(String id) {
        Set<String> live = referencedKeys(Set.of(id));
        fence("removing damaged backup " + id);
        try {
            forgetManifest(id);
            storage.delete(BlockMap.key(id)); // first, as in removeBackup
            storage.delete(manifestKey(id));
            DrillRecords.removeFor(storage, id);
        } catch (IOException e) {
            throw io("remove backup " + id, e);
        }
        collectGarbage(id, live);
    }

    /**
     * Deletes the objects under backup {@code id}'s directory that no manifest reads (its
     * manifest, if any, must already be gone or be the reader). Only call while holding the lock.
     * Returns the number of objects deleted.
     */
    public int collectGarbage(String id) {
        return collectGarbage(id, referencedKeys());
    }

    /**
     * Deletes every object under complete backups' directories that no manifest reads: what an
     * interrupted conversion or removal left. Only call while holding the lock.
     */
    public int collectAllGarbage() {
        return collectGarbage(backupIds());
    }

    /**
     * {@link #collectGarbage(String)} over several backup directories, reading the manifests once:
     * for a removal of many backups, whose objects may be read by each other until the last goes.
     * Only call while holding the lock. Returns the number of objects deleted.
     */
    public int collectGarbage(java.util.Collection<String> ids) {
        Set<String> live = referencedKeys();
        int deleted = 0;
        for (String id : ids) {
            deleted += collectGarbage(id, live);
        }
        return deleted;
    }

    private int collectGarbage(String id, Set<String> live) {
        String prefix = BACKUP_PREFIX + id + "/";
        int deleted = 0;
        try {
            for (String key : storage.list(prefix)) {
                if (!live.contains(key) && !key.equals(manifestKey(id))) {
                    fence("removing " + key);
                    storage.delete(key);
                    deleted++;
                }
            }
        } catch (IOException e) {
            throw io("remove unused objects of backup " + id, e);
        }
        return deleted;
    }

    /**
     * The manifest of backup {@code id}, checked: its envelope, and that it belongs in its place
     * (its id, type and reference make sense there, and it is a backup of the cluster this
     * repository serves). A manifest copied from another backup's directory, or edited, is
     * refused as damaged (CORRUPT); one of another system as REPO_MISMATCH.
     */
    public Manifest manifest(String id) {
        return manifest(id, new long[2]);
    }

    /**
     * {@link #manifest(String)} of each of {@code ids}, in their order: each a Manifest, or the
     * RuntimeException its read threw; several at once, within the catalogue's budget, each taken
     * to be as large as a manifest of {@code files} files (the backups of one chain are of one
     * cluster; no listing is asked for their sizes, which on S3 lists every object of the
     * repository).
     */
    List<Object> manifests(List<String> ids, int files) {
        Map<String, Long> sizes = new java.util.HashMap<>();
        for (String id : ids) {
            sizes.put(id, (long) files * STORED_BYTES_PER_FILE);
        }
        return readEach(ids, sizes, this::manifest);
    }

    /** A manifest's stored bytes per file, generously: 18 for a full of 974 files, 29 for an incremental's (its page lists). */
    static final int STORED_BYTES_PER_FILE = 32;

    /**
     * {@link #manifest(String)} for the catalogue: its file list held softly ({@link SoftFiles}),
     * read again when the JVM dropped it, and then required to be the same bytes.
     */
    private Manifest catalogued(String id) {
        long[] crc = new long[2];
        Manifest m = manifest(id, crc, true);
        if (m.files() == null) {
            return m;
        }
        // Read for its header: the file list is read (and its entries checked) when first used.
        return m.withFiles(new SoftFiles(rereading(id, crc)));
    }

    /** Reads the file list of backup {@code id} again, which must come from the very bytes first read ({@code crc}). */
    private SoftFiles.Reload rereading(String id, long[] crc) {
        return () -> {
            long[] again = new long[2];
            Manifest read = manifest(id, again, false);
            if (again[0] != crc[0] || again[1] != crc[1]) {
                throw new PgstrataException(ErrorCode.CORRUPT, "manifest of backup " + id + " changed while this command ran",
                        "another pgstrata rewrote it (a reverse-delta conversion) or it was edited: run the command again");
            }
            return read.files();
        };
    }

    /** {@link #manifest(String)}, setting {@code crc[0]} to the CRC-32C of the stored bytes and {@code crc[1]} to their length. */
    private Manifest manifest(String id, long[] crc) {
        return manifest(id, crc, false);
    }

    /** {@link #manifest(String, long[])}; {@code headerOnly}: its file list skipped ({@link Manifest#UNREAD}), not read nor checked. */
    private Manifest manifest(String id, long[] crc, boolean headerOnly) {
        String key = manifestKey(id);
        Manifest m;
        try {
            m = readManifest(notAPath(id), crc, headerOnly);
        } catch (ObjectNotFoundException e) {
            if (lostManifest(BlockMap.key(id), e)) {
                throw lostManifest(BACKUP_PREFIX, id);
            }
            if (logicalIds().contains(id)) {
                throw new PgstrataException(ErrorCode.NOT_FOUND, "backup " + id + " is a logical backup (pg_dump), not a physical one",
                        "restore it into a running server with 'pgstrata restore --logical --repo " + describe() + " --backup " + id
                                + " --to-db NAME'");
            }
            throw new PgstrataException(ErrorCode.NOT_FOUND, "backup " + id + " does not exist in " + describe(),
                    "run 'pgstrata list --repo " + describe() + "' to see the backups");
        } catch (CorruptObjectException e) {
            throw new PgstrataException(ErrorCode.CORRUPT, "manifest of backup " + id + " is corrupt: " + e.getMessage(),
                    "this backup cannot be trusted; restore another one");
        } catch (IOException e) {
            throw io("read manifest " + key, e);
        }
        String wrong = misplaced(id, m);
        if (wrong != null) {
            throw new PgstrataException(ErrorCode.CORRUPT, "manifest of backup " + id + " is corrupt: " + wrong,
                    "this backup cannot be trusted; restore another one, or delete it");
        }
        RepoInfo owner = requireInfo();
        if (!owner.systemIdentifier().equals(m.systemIdentifier()) || owner.pgMajor() != m.pgMajor()) {
            throw new PgstrataException(ErrorCode.REPO_MISMATCH, "backup " + id + " belongs to the cluster with system identifier "
                    + m.systemIdentifier() + " (PostgreSQL " + m.pgMajor() + "), but repository " + describe() + " serves "
                    + owner.systemIdentifier() + " (PostgreSQL " + owner.pgMajor() + ")",
                    "a repository serves one cluster: delete that backup, or move it to a repository of its own");
        }
        return m;
    }

    /** Whether a backup whose manifest was not found ({@code notFound}) lost it: its {@code mark} is there ({@link #lostManifests}). */
    private boolean lostManifest(String mark, ObjectNotFoundException notFound) {
        try {
            return storage.exists(mark);
        } catch (IOException | RuntimeException e) {
            notFound.addSuppressed(e);
            return false; // the manifest's own absence is what to report
        }
    }

    /** What makes manifest {@code m} not belong at backup/{@code id}/, or null. */
    static String misplaced(String id, Manifest m) {
        if (m.formatVersion() > Manifest.FORMAT_VERSION) {
            return "it has format " + m.formatVersion() + ", written by a newer pgstrata than this one (format " + Manifest.FORMAT_VERSION + ")";
        }
        if (!id.equals(m.id())) {
            return "it names backup " + m.id() + ": it was copied or moved from another backup's place";
        }
        List<String> types = List.of("full", "incr", "diff", Chain.REVERSE);
        if (m.type() == null || !types.contains(m.type())) {
            return "its type '" + m.type() + "' is none of " + types;
        }
        if (m.type().equals("full") != (m.reference() == null)) {
            return m.reference() == null ? "it is of type " + m.type() + " but names no backup it is built on"
                    : "it is a full backup but names " + m.reference() + " as the backup it is built on";
        }
        if (id.equals(m.reference())) {
            return "it names itself as the backup it is built on";
        }
        if (m.systemIdentifier() == null || m.startLsn() == null || m.stopLsn() == null || m.files() == null || m.wal() == null
                || m.stopTime() == null || m.directories() == null) {
            return "fields are missing";
        }
        if (m.blockMap() != null && !BlockMap.key(id).equals(m.blockMap().key())) {
            return "its block map is " + m.blockMap().key() + ", not " + BlockMap.key(id);
        }
        for (FileEntry f : m.files()) {
            ObjectRef o = f.object();
            if (o != null && (o.backup() == null || !o.key().startsWith(BACKUP_PREFIX + o.backup() + "/"))) {
                return "file " + f.path() + " is said to be in object " + o.key() + " of backup " + o.backup() + ", which is not that backup's";
            }
        }
        return null;
    }

    /** The manifest's bytes, opened and parsed (without its file list: {@code headerOnly}), unchecked beyond its envelope. */
    private Manifest readManifest(String id, long[] crc, boolean headerOnly) throws IOException {
        String key = manifestKey(id);
        byte[] bytes = storedManifest(key);
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update(bytes);
        crc[0] = c.getValue();
        crc[1] = bytes.length;
        if (bytes.length >= 4 && (bytes[0] & 0xFF) == 0x28 && (bytes[1] & 0xFF) == 0xB5 && (bytes[2] & 0xFF) == 0x2F
                && (bytes[3] & 0xFF) == 0xFD) {
            try {
                bytes = com.github.luben.zstd.Zstd.decompress(bytes, (int) com.github.luben.zstd.Zstd.getFrameContentSize(bytes));
            } catch (RuntimeException e) {
                throw new CorruptObjectException(key, "cannot be decompressed (" + e.getMessage() + ")");
            }
        }
        try {
            return headerOnly ? Json.unseal(key, bytes, Manifest.class, Manifest.FilesOrSkipped.SKIP_FILES, true)
                    : Json.unseal(key, bytes, Manifest.class);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new CorruptObjectException(key, "is not a manifest (" + e.getOriginalMessage() + ")");
        }
    }

    /** A manifest's stored bytes: those this command read already, while the JVM keeps them (see {@link #manifestBytes}). */
    private byte[] storedManifest(String key) throws IOException {
        java.lang.ref.SoftReference<byte[]> held = manifestBytes.get(key);
        byte[] bytes = held == null ? null : held.get();
        if (bytes == null) {
            bytes = storage.getBytes(key);
            manifestBytes.put(key, new java.lang.ref.SoftReference<>(bytes));
        }
        return bytes;
    }

    /**
     * {@link #manifest(String)} as the store holds it now, not as this command read it first: for
     * a command without the lock to tell whether another rewrote it meanwhile.
     */
    private Manifest manifestNow(String id) {
        forgetManifest(id);
        return manifest(id);
    }

    /**
     * What became of backup {@code was}, as this command read it without the lock, in the store now:
     * removed (by delete or expire; {@link Meanwhile#now()} null), or turned into a reverse delta by
     * a reverse backup (its type or reference differ; the objects of its old form that nothing reads
     * any more are gone); empty when it is as read, or when the store cannot tell (then the caller's
     * own error stands).
     */
    public Optional<Meanwhile> changedSince(Manifest was) {
        try {
            Manifest now = manifestNow(was.id());
            return Objects.equals(now.type(), was.type()) && Objects.equals(now.reference(), was.reference())
                    ? Optional.empty() : Optional.of(new Meanwhile(was.id(), now));
        } catch (PgstrataException e) {
            return e.code() == ErrorCode.NOT_FOUND ? Optional.of(new Meanwhile(was.id(), null)) : Optional.empty();
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Backup {@code id} changed by another command: {@code now} its manifest as stored now, null when it is gone. */
    public record Meanwhile(String id, Manifest now) {
    }

    /** Drops what {@link #manifestBytes} keeps of backup {@code id}'s manifest: this command writes or removes it. */
    private void forgetManifest(String id) {
        manifestBytes.remove(manifestKey(id));
    }

    /** Writes a manifest atomically and durably: from this moment the backup exists. */
    public void writeManifest(Manifest manifest) {
        try {
            fence("writing the manifest of backup " + manifest.id());
            // A manifest lists every file: compressed, it is a few percent of its JSON size.
            org.pgstrata.api.TestHooks.failAt("manifest-write");
            storage.putBytes(manifestKey(manifest.id()), compressMetadata(Json.seal(manifest.inFormatItNeeds())));
        } catch (IOException e) {
            PgstrataException failed = io("write manifest of " + manifest.id(), e);
            withdrawMark(manifestKey(manifest.id()), BlockMap.key(manifest.id()), failed);
            throw failed;
        } catch (RuntimeException e) {
            withdrawMark(manifestKey(manifest.id()), BlockMap.key(manifest.id()), e);
            throw e;
        } finally {
            forgetManifest(manifest.id()); // written or not, the next read asks the store
        }
    }

    /**
     * After a failed write of a new manifest (a full disk, a store's refusal, the lock lost), the
     * {@code mark} written just before it goes too: the failed backup leaves an ordinary leftover,
     * which the next backup removes, not a backup that lost its manifest ({@link #lostManifests}).
     * Not when the manifest is there after all: one being rewritten (a reverse-delta conversion),
     * or a write the store reported failed although it landed. A failure here is added to
     * {@code failure}, which is what the caller reports.
     */
    private void withdrawMark(String manifestKey, String mark, Exception failure) {
        try {
            if (!storage.exists(manifestKey)) {
                storage.delete(mark);
            }
        } catch (IOException | RuntimeException e) {
            failure.addSuppressed(e);
        }
    }

    /**
     * zstd level 9 of {@code sealed}, the same frame as {@code Zstd.compress(sealed, 9)}, into a
     * buffer of a quarter of its size first: zstd's worst-case bound is as large as the input
     * (28 MB for a manifest of 100,000 files), and manifests compress to about a tenth.
     */
    static byte[] compressMetadata(byte[] sealed) {
        byte[] dst = new byte[Math.max(4096, sealed.length / 4)];
        long n;
        try {
            n = com.github.luben.zstd.Zstd.compressByteArray(dst, 0, dst.length, sealed, 0, sealed.length, 9);
        } catch (com.github.luben.zstd.ZstdException e) {
            n = -1;
        }
        if (n < 0 || com.github.luben.zstd.Zstd.isError(n)) {
            return com.github.luben.zstd.Zstd.compress(sealed, 9); // did not fit: hardly compressible, so not a large manifest
        }
        return java.util.Arrays.copyOf(dst, (int) n);
    }

    // ---- logical backups: their own prefix, objects never shared

    public static String logicalManifestKey(String id) {
        return LOGICAL_PREFIX + id + "/" + MANIFEST_NAME;
    }

    /** Where logical backup {@code id}'s end mark lies ({@link #LOGICAL_END_NAME}). */
    static String logicalEndKey(String id) {
        return LOGICAL_PREFIX + id + "/" + LOGICAL_END_NAME;
    }

    /** Every logical backup directory, complete or not. */
    public Set<String> logicalIds() {
        return new LinkedHashSet<>(listIds(LOGICAL_PREFIX).keySet());
    }

    /** The logical backups: those whose manifest reads back intact and in its place, oldest first, and the damaged ones. */
    public Catalogue<LogicalManifest> logicalCatalogue() {
        return scan(listManifests(LOGICAL_PREFIX), this::logicalManifest, LOGICAL_ORDER);
    }

    /**
     * Logical backups oldest first: by the instant of their snapshot, then its LSN. Compared as
     * text, an instant on a whole second ("...:05Z", as Instant writes it) sorted after the same
     * second's later ones ("...:05.250Z").
     */
    static final Comparator<LogicalManifest> LOGICAL_ORDER = Comparator.comparing((LogicalManifest m) -> java.time.Instant.parse(m.snapshotTime()))
            .thenComparing(m -> org.pgstrata.postgres.Lsn.parse(m.snapshotLsn())).thenComparing(LogicalManifest::id);

    /** Every complete logical backup whose manifest reads back intact and in its place, oldest first. */
    public List<LogicalManifest> logicalBackups() {
        return logicalCatalogue().backups();
    }

    /** Logical backups whose manifest exists but is damaged, mislabelled or of another system: id and what is wrong. */
    public Map<String, String> damagedLogical() {
        return logicalCatalogue().problems();
    }

    /**
     * {@code id} as given, when it can name a backup's directory; an id that would be a path out
     * of it ('..', '/', '\\', empty: no backup is called that) as a backup that does not exist.
     */
    private static String notAPath(String id) throws ObjectNotFoundException {
        if (id.isEmpty() || id.contains("/") || id.contains("\\") || id.contains("..")) {
            throw new ObjectNotFoundException(id, "the repository");
        }
        return id;
    }

    /** The manifest of logical backup {@code id}, checked like {@link #manifest(String)}. */
    public LogicalManifest logicalManifest(String id) {
        String key = logicalManifestKey(id);
        LogicalManifest m;
        try {
            m = readLogicalManifest(notAPath(id));
        } catch (ObjectNotFoundException e) {
            if (lostManifest(logicalEndKey(id), e)) {
                throw lostManifest(LOGICAL_PREFIX, id);
            }
            throw new PgstrataException(ErrorCode.NOT_FOUND, "logical backup " + id + " does not exist in " + describe(),
                    "run 'pgstrata list --repo " + describe() + "' to see the backups");
        } catch (CorruptObjectException e) {
            throw new PgstrataException(ErrorCode.CORRUPT, "manifest of logical backup " + id + " is corrupt: " + e.getMessage(),
                    "this backup cannot be trusted; restore another one");
        } catch (IOException e) {
            throw io("read manifest " + key, e);
        }
        String wrong = null;
        if (m.formatVersion() > LogicalManifest.FORMAT_VERSION) {
            wrong = "it has format " + m.formatVersion() + ", written by a newer pgstrata";
        } else if (!id.equals(m.id())) {
            wrong = "it names backup " + m.id() + ": it was copied or moved from another backup's place";
        } else if (!LogicalManifest.FULL.equals(m.type()) && !LogicalManifest.DIFF.equals(m.type())) {
            wrong = "its type '" + m.type() + "' is neither " + LogicalManifest.FULL + " nor " + LogicalManifest.DIFF;
        } else if (m.differential() == (m.reference() == null) || id.equals(m.reference())) {
            wrong = "its type " + m.type() + " does not fit the backup it names as built on (" + m.reference() + ")";
        } else if (m.dump() == null || m.tables() == null || m.systemIdentifier() == null || m.snapshotTime() == null) {
            wrong = "fields are missing";
        } else {
            for (LogicalManifest.StoredFile f : m.objects()) {
                if (f.object() == null || !f.object().key().startsWith(LOGICAL_PREFIX + id + "/")) {
                    wrong = "its file " + f.name() + " is said to be in " + (f.object() == null ? "no object" : f.object().key())
                            + ", outside its own directory";
                    break;
                }
            }
        }
        if (wrong != null) {
            throw new PgstrataException(ErrorCode.CORRUPT, "manifest of logical backup " + id + " is corrupt: " + wrong,
                    "this backup cannot be trusted; restore another one, or delete it");
        }
        RepoInfo owner = requireInfo();
        if (!owner.systemIdentifier().equals(m.systemIdentifier())) {
            throw new PgstrataException(ErrorCode.REPO_MISMATCH, "logical backup " + id + " belongs to the cluster with system identifier "
                    + m.systemIdentifier() + ", but repository " + describe() + " serves " + owner.systemIdentifier(),
                    "a repository serves one cluster: delete that backup, or move it to a repository of its own");
        }
        return m;
    }

    private LogicalManifest readLogicalManifest(String id) throws IOException {
        String key = logicalManifestKey(id);
        byte[] bytes = storage.getBytes(key);
        try {
            bytes = com.github.luben.zstd.Zstd.decompress(bytes, (int) com.github.luben.zstd.Zstd.getFrameContentSize(bytes));
        } catch (RuntimeException e) {
            throw new CorruptObjectException(key, "cannot be decompressed (" + e.getMessage() + ")");
        }
        try {
            return Json.unseal(key, bytes, LogicalManifest.class);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new CorruptObjectException(key, "is not a manifest (" + e.getOriginalMessage() + ")");
        }
    }

    /** Writes a logical manifest atomically and durably: from this moment the backup exists. */
    public void writeLogicalManifest(LogicalManifest manifest) {
        fence("writing the manifest of logical backup " + manifest.id());
        try {
            storage.putBytes(logicalEndKey(manifest.id()), manifest.id().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw io("write the end mark of " + manifest.id(), e);
        }
        try {
            fence("writing the manifest of logical backup " + manifest.id());
            org.pgstrata.api.TestHooks.failAt("manifest-write");
            storage.putBytes(logicalManifestKey(manifest.id()), com.github.luben.zstd.Zstd.compress(Json.seal(manifest), 9));
        } catch (IOException e) {
            PgstrataException failed = io("write manifest of " + manifest.id(), e);
            withdrawMark(logicalManifestKey(manifest.id()), logicalEndKey(manifest.id()), failed);
            throw failed;
        } catch (RuntimeException e) {
            withdrawMark(logicalManifestKey(manifest.id()), logicalEndKey(manifest.id()), e);
            throw e;
        }
    }

    /**
     * Checks the lock before new backup {@code id} writes its block map, as before its manifest:
     * a backup that lost the lock stops before the object that marks it as having run to its end
     * ({@link #lostManifests}), and leaves an ordinary leftover.
     */
    public void fenceBlockMap(String id) {
        fence("writing the block map of backup " + id);
    }

    /**
     * Removes the drill records of backups that are gone (a drill that finished after its backup
     * was removed). Only under the lock.
     */
    public int removeOrphanDrillRecords() {
        fence("removing drill records");
        try {
            Set<String> present = new java.util.HashSet<>(backupIds());
            present.addAll(listIds(LOGICAL_PREFIX).keySet());
            return DrillRecords.removeOrphans(storage, present);
        } catch (IOException e) {
            throw io("remove drill records", e);
        }
    }

    /** Removes a logical backup: manifest first (from then on it does not exist), then its objects. Only under the lock. */
    public void removeLogical(String id) {
        fence("removing logical backup " + id);
        try {
            storage.delete(logicalEndKey(id)); // first: see lostManifests
            storage.delete(logicalManifestKey(id));
            org.pgstrata.api.TestHooks.haltAt("backup-manifest-removed");
            storage.deletePrefix(LOGICAL_PREFIX + id + "/");
            DrillRecords.removeFor(storage, id);
        } catch (IOException e) {
            throw io("remove logical backup " + id, e);
        }
    }

    /**
     * Whether {@code id} names a logical backup directory without its manifest: what a failed
     * logical backup, or a removal stopped after its first step, left.
     */
    public boolean incompleteLogical(String id) {
        try {
            // One that holds its end mark lost its manifest: damaged, removed (its differentials first) as a backup is.
            return logicalIds().contains(id) && !storage.exists(logicalManifestKey(id)) && !storage.exists(logicalEndKey(id));
        } catch (IOException e) {
            throw io("list logical backups", e);
        }
    }

    /** Removes what a failed logical backup, or an interrupted removal of one, left of {@code id}. Only under the lock. */
    public void removeIncompleteLogical(String id) {
        fence("removing incomplete logical backup " + id);
        try {
            storage.deletePrefix(LOGICAL_PREFIX + id + "/");
            DrillRecords.removeFor(storage, id);
        } catch (IOException e) {
            throw io("remove incomplete logical backup " + id, e);
        }
    }

    /**
     * Logical backup directories without a manifest: what a failed or killed logical backup left
     * (also one that holds only its half-written files, or nothing at all, which no listing shows),
     * or a removal stopped after its first step, or a backup that is still running (this takes no lock).
     */
    public List<String> incompleteLogicalBackups() {
        try {
            Set<String> ids = new java.util.TreeSet<>();
            Listed listed = listManifests(LOGICAL_PREFIX);
            listed.ids().forEach((id, hasManifest) -> {
                if (!hasManifest && !listed.lostManifests().contains(id)) {
                    ids.add(id); // one that lost its manifest is damaged, not a leftover (see lostManifests)
                }
            });
            for (String key : storage.unfinishedWrites(LOGICAL_PREFIX)) {
                String rest = key.substring(LOGICAL_PREFIX.length());
                int slash = rest.indexOf('/');
                if (slash > 0 && !ids.contains(rest.substring(0, slash)) && !storage.exists(logicalManifestKey(rest.substring(0, slash)))) {
                    ids.add(rest.substring(0, slash));
                }
            }
            ids.addAll(emptyIds(LOGICAL_PREFIX));
            return new ArrayList<>(ids);
        } catch (IOException e) {
            throw io("list logical backups", e);
        }
    }

    /** Removes what failed or killed logical backups left: directories without a manifest. Only under the lock. */
    public List<String> removeIncompleteLogical() {
        fence("removing incomplete logical backups");
        List<String> removed = new ArrayList<>();
        try {
            // a directory holding only a killed backup's half-written file is one of them: removed whole, not left empty
            for (String id : incompleteLogicalBackups()) {
                storage.deletePrefix(LOGICAL_PREFIX + id + "/");
                removed.add(id);
            }
            storage.deleteTemporary(LOGICAL_PREFIX);
        } catch (IOException e) {
            throw io("remove incomplete logical backups", e);
        }
        return removed;
    }

    /** Loads the manifest codec (see PhysicalBackup's warm-up). */
    public static void warmUp() throws IOException {
        Manifest m = new Manifest(Manifest.FORMAT_VERSION, "warmup", "full", null, "1", 170000, 1, "0/0", "0/0", "t", "t", "zstd",
                "", "", List.of(), List.of(FileEntry.whole("f", 1, "rw-------", "0", new ObjectRef("b", "k", "zstd", 1, "0", 0L))),
                List.of(), 0, 0, "dev", Manifest.WAL_IN_BACKUP, true, new ObjectRef("b", "k", "none", 1, "0"), null, null, null);
        Json.unseal("warmup", Json.seal(m), Manifest.class);
    }

    /** Removes an archived WAL file, every copy of it (retention). Only under the lock. */
    public void removeArchived(WalArchive archive, WalArchive.Entry e) {
        fence("removing archived WAL " + e.name());
        try {
            archive.remove(e);
        } catch (IOException ex) {
            throw io("remove archived WAL " + e.name(), ex);
        }
    }

    /**
     * Invariant 7: a writer that lost its lock stops before its next write that another writer
     * must not interleave with. Called before each manifest write and each delete; does nothing
     * when no lock was taken through {@link #lock} (a repository being created, a test).
     */
    /**
     * Refuses a repository in the clear when encryption was asked for (repo init --encrypt, or
     * the stanza's encrypt = true): writing clear objects where the configuration promises
     * encrypted ones would be worse than stopping. A repository's encryption is chosen when it is
     * created.
     */
    public void requireEncryptedIfAsked() {
        if (CipherPass.encryptNew() && !encrypted() && info().isPresent()) {
            throw new PgstrataException(ErrorCode.USAGE, "repository " + describe() + " is not encrypted, but encryption was asked for "
                    + "(--encrypt, or encrypt = true in the stanza); nothing was written",
                    "a repository is encrypted when it is created: use a new repository, or drop the encryption setting");
        }
    }

    private void fence(String next) {
        Storage.RepositoryLock lock = held;
        if (lock == null) {
            return;
        }
        try {
            lock.check();
        } catch (org.pgstrata.storage.LockLostException e) {
            throw new PgstrataException(ErrorCode.LOCKED, "lost the lock of repository " + describe() + ": " + e.getMessage()
                    + "; stopped before " + next + ", nothing more was written",
                    "make sure one command at a time writes this repository, run 'pgstrata verify --repo " + describe()
                            + "', then run the command again");
        } catch (IOException e) {
            throw io("check the lock before " + next, e);
        }
    }

    private PgstrataException noConditionalWrites(org.pgstrata.storage.NoConditionalWritesException e) {
        return new PgstrataException(ErrorCode.NO_CONDITIONAL_WRITES, "repository " + describe() + " was not created: " + e.getMessage()
                + "; two pushes of one WAL file could both be archived and two writers could both hold the lock",
                "use a store with conditional writes (AWS S3, MinIO, Ceph RGW, recent s3proxy), or a directory");
    }

    public PgstrataException io(String what, IOException e) {
        PgstrataException denied = org.pgstrata.api.PermissionDenied.find(e);
        if (denied != null) {
            return denied;
        }
        if (e instanceof CorruptObjectException) {
            return new PgstrataException(ErrorCode.CORRUPT, "cannot " + what + " in repository " + describe() + ": " + e.getMessage(),
                    "run 'pgstrata verify --repo " + describe() + "' to see what is damaged", e);
        }
        return new PgstrataException(ErrorCode.IO, "cannot " + what + " in repository " + describe() + ": " + e.getMessage(),
                org.pgstrata.storage.fs.FileStorage.noRoom(e) ? "free space where the repository is ('pgstrata expire' and 'delete' run on a "
                        + "full one)" : "check that the repository is reachable and writable", e);
    }

    @Override
    public void close() {
        try {
            storage.close();
        } catch (IOException e) {
            // nothing useful to do when closing fails
        }
    }
}
