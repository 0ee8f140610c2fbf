package org.pgstrata.manifest;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.storage.ObjectNotFoundException;

/**
 * A backup and every backup its files are built on, loaded and checked before a restore writes
 * anything: each member present with an intact manifest, the same system, each reference ending
 * before the backup built on it starts, and every object the restore will read present with its
 * recorded size.
 */
public final class Chain {
    /** The type of a backup kept as a reverse delta over the newer full that replaced it. */
    public static final String REVERSE = "reverse";

    /** One source of a file's content: the whole file, or some of its pages. */
    public record Layer(String backup, ObjectRef object, BlockList blocks, long size) {
        public boolean whole() {
            return blocks == null;
        }
    }

    private final Manifest target;
    private final Map<String, Manifest> members;
    private final Map<String, Map<String, FileEntry>> filesByMember = new HashMap<>();
    private final Map<String, List<Layer>> layersByPath = new HashMap<>();

    private Chain(Manifest target, Map<String, Manifest> members) {
        this.target = target;
        this.members = members;
    }

    /** Loads and checks the chain of {@code target}; throws before anything is written. */
    public static Chain load(Repository repo, Manifest target) {
        return load(repo, target, List.of());
    }

    /**
     * {@link #load(Repository, Manifest)}, reading the manifests of {@code likely} (the backups
     * the catalogue's headers chain {@code target} to) side by side first: the walk from each
     * backup to the ones it names waited a round trip per step, thirty on a chain of thirty. The
     * walk still judges each member when it reaches it, in its own order; a wrong hint costs
     * only reads.
     */
    public static Chain load(Repository repo, Manifest target, List<String> likely) {
        Map<String, Manifest> members = new LinkedHashMap<>();
        members.put(target.id(), target);
        Map<String, Object> ahead = new HashMap<>();
        List<String> early = likely.stream().filter(id -> !id.equals(target.id())).distinct().sorted().toList();
        List<Object> earlyRead = repo.manifests(early, target.files().size());
        for (int i = 0; i < early.size(); i++) {
            ahead.put(early.get(i), earlyRead.get(i));
        }
        Deque<Manifest> todo = new ArrayDeque<>(List.of(target));
        while (!todo.isEmpty()) {
            Manifest m = todo.pop();
            Set<String> refs = new HashSet<>();
            if (m.reference() != null) {
                refs.add(m.reference());
            }
            for (FileEntry f : m.files()) {
                if (f.reference() != null) {
                    refs.add(f.reference());
                }
            }
            // Read side by side (an incremental's files name most of its chain at once), judged in order.
            List<String> unread = refs.stream().filter(ref -> !members.containsKey(ref)).sorted().toList();
            List<String> asked = unread.stream().filter(ref -> !ahead.containsKey(ref)).toList();
            List<Object> answers = repo.manifests(asked, target.files().size());
            for (int i = 0; i < asked.size(); i++) {
                ahead.put(asked.get(i), answers.get(i));
            }
            for (int i = 0; i < unread.size(); i++) {
                Manifest r = member(repo, target, m, unread.get(i), ahead.remove(unread.get(i)));
                members.put(unread.get(i), r);
                todo.push(r);
            }
        }
        Chain chain = new Chain(target, members);
        chain.checkObjects(repo);
        return chain;
    }

    /** Checks {@code read}, what reading backup {@code ref}'s manifest gave (a Manifest, or what it threw), as a member of the chain. */
    private static Manifest member(Repository repo, Manifest target, Manifest builtOn, String ref, Object read) {
        Manifest r;
        try {
            if (read instanceof RuntimeException e) {
                throw e;
            }
            r = (Manifest) read;
        } catch (PgstrataException e) {
            if (e.code() == ErrorCode.NOT_FOUND) {
                throw new PgstrataException(ErrorCode.CHAIN_BROKEN, "backup " + ref + ", which " + builtOn.id()
                        + " is built on, is missing from " + repo.describe() + ", so " + target.id() + " cannot be restored; nothing was written",
                        "restore another backup ('pgstrata list' shows each chain), or take a new full backup");
            }
            if (e.code() == ErrorCode.CORRUPT) {
                throw new PgstrataException(ErrorCode.CORRUPT, "backup " + ref + ", which " + builtOn.id() + " is built on, is damaged ("
                        + e.getMessage() + "), so " + target.id() + " cannot be restored; nothing was written",
                        "restore a backup whose chain is intact ('pgstrata verify' names the damage), or take a new full backup");
            }
            throw e;
        }
        if (!r.systemIdentifier().equals(builtOn.systemIdentifier())) {
            throw new PgstrataException(ErrorCode.CHAIN_BROKEN, "backup " + ref + " belongs to system " + r.systemIdentifier() + " but "
                    + builtOn.id() + ", built on it, to " + builtOn.systemIdentifier() + "; nothing was written",
                    "the repository was mixed from two clusters; restore a full backup");
        }
        if (REVERSE.equals(builtOn.type())) {
            // A reverse delta is built on the newer backup that replaced it as the full.
            if (Lsn.parse(r.startLsn()).isBefore(Lsn.parse(builtOn.stopLsn()))) {
                throw new PgstrataException(ErrorCode.CHAIN_BROKEN, "reverse delta " + builtOn.id() + " ends at " + builtOn.stopLsn()
                        + ", after " + ref + ", which it is built on, starts (" + r.startLsn() + "); nothing was written",
                        "the chain is inconsistent; restore the newest full");
            }
        } else if (Lsn.parse(builtOn.startLsn()).isBefore(Lsn.parse(r.stopLsn()))) {
            throw new PgstrataException(ErrorCode.CHAIN_BROKEN, "backup " + builtOn.id() + " starts at " + builtOn.startLsn()
                    + ", before " + ref + ", which it is built on, ends (" + r.stopLsn() + "); nothing was written",
                    "the chain is inconsistent; restore a full backup");
        }
        return r;
    }

    /** Every object the restore reads exists with at least its recorded size (a cheap check; content is checked while reading). */
    private void checkObjects(Repository repo) {
        Map<String, Long> needed = new HashMap<>();
        for (FileEntry f : target.files()) {
            List<Layer> layers = resolve(f);
            layersByPath.put(f.path(), layers);
            for (Layer l : layers) {
                if (l.object() != null) {
                    needed.merge(l.object().key(), l.object().start() + l.object().storedBytes(), Math::max);
                }
            }
        }
        Map<String, Long> listed = listedSizes(repo, needed.keySet());
        // A key the listing did not show is asked for itself: side by side (a HEAD each on S3; a chain of thirty small
        // incrementals asked for some 150 one after another), judged in key order.
        List<String> keys = new ArrayList<>(needed.keySet());
        java.util.Collections.sort(keys);
        List<String> asked = keys.stream().filter(k -> !listed.containsKey(k)).toList();
        List<Object> answers = sideBySide(repo, asked, k -> repo.storage().size(k));
        Map<String, Object> answered = new HashMap<>();
        for (int i = 0; i < asked.size(); i++) {
            answered.put(asked.get(i), answers.get(i));
        }
        for (String key : keys) {
            var e = Map.entry(key, needed.get(key));
            long size;
            try {
                Long l = listed.get(key);
                if (l != null) {
                    size = l;
                } else if (answered.get(key) instanceof IOException ex) {
                    throw ex;
                } else if (answered.get(key) instanceof RuntimeException ex) {
                    throw ex;
                } else {
                    size = (Long) answered.get(key);
                }
            } catch (ObjectNotFoundException ex) {
                throw new PgstrataException(ErrorCode.CORRUPT, "object " + e.getKey() + " that the restore of " + target.id()
                        + " needs is missing from " + repo.describe() + "; nothing was written",
                        "run 'pgstrata verify --repo " + repo.describe() + "' and restore another backup");
            } catch (IOException ex) {
                throw repo.io("check object " + e.getKey(), ex);
            }
            if (size < e.getValue()) {
                throw new PgstrataException(ErrorCode.CORRUPT, "object " + e.getKey() + " that the restore of " + target.id() + " needs has "
                        + size + " bytes, fewer than the " + e.getValue() + " recorded; nothing was written",
                        "run 'pgstrata verify --repo " + repo.describe() + "' and restore another backup");
            }
        }
    }

    /** Below this many objects of one backup, each is asked for its size; from it on, its prefix is listed. */
    private static final int LIST_FROM = 8;

    /**
     * The sizes of the needed objects that one listing per backup gives, where the store lists
     * sizes (S3): a HEAD per object cost a round trip each, one after the other, before the first
     * byte was restored. A backup's objects are listed only when the listing takes at most a
     * quarter as many requests as asking for each needed object of it (1,000 objects a page; a
     * backup holds at most an object per file and WAL segment, and its two maps).
     */
    private Map<String, Long> listedSizes(Repository repo, Set<String> keys) {
        Map<String, List<String>> byBackup = new HashMap<>();
        for (String k : keys) {
            int second = k.indexOf('/', k.indexOf('/') + 1);
            if (k.startsWith(Repository.BACKUP_PREFIX) && second > 0) {
                byBackup.computeIfAbsent(k.substring(0, second + 1), x -> new ArrayList<>()).add(k);
            }
        }
        List<String> prefixes = new ArrayList<>();
        for (var e : byBackup.entrySet()) {
            Manifest m = members.get(e.getKey().substring(Repository.BACKUP_PREFIX.length(), e.getKey().length() - 1));
            int needed = e.getValue().size();
            if (m == null || needed < LIST_FROM) {
                continue;
            }
            long pages = (m.files().size() + m.wal().size() + 2 + 999) / 1000;
            if (pages * 4 > needed) {
                continue;
            }
            prefixes.add(e.getKey());
        }
        java.util.Collections.sort(prefixes);
        List<Object> listings = sideBySide(repo, prefixes, prefix -> repo.storage().listedSizes(prefix));
        Map<String, Long> sizes = new HashMap<>();
        for (int i = 0; i < prefixes.size(); i++) {
            Object listing = listings.get(i);
            if (listing instanceof IOException ex) {
                String prefix = prefixes.get(i);
                throw repo.io("list the objects of backup " + prefix.substring(Repository.BACKUP_PREFIX.length(), prefix.length() - 1), ex);
            }
            if (listing instanceof RuntimeException ex) {
                throw ex;
            }
            @SuppressWarnings("unchecked")
            java.util.Optional<Map<String, Long>> found = (java.util.Optional<Map<String, Long>>) listing;
            found.ifPresent(sizes::putAll);
        }
        return sizes;
    }

    /** A request to the store about one key or prefix. */
    private interface Ask {
        Object of(String item) throws IOException;
    }

    /**
     * Requests (each a round trip on S3) sent at once, at most: each is a HEAD or a listing, with
     * no body to hold. 8 at once, a chain of 70 daily incrementals (about 210 objects to check)
     * waited 27 round trips before its first byte was restored.
     */
    private static final int ASKING = 32;

    /**
     * {@code ask} of each item, on up to {@link #ASKING} threads: in the items' order, each its
     * answer or the IOException or RuntimeException it threw, for the caller to judge in that order.
     */
    private static List<Object> sideBySide(Repository repo, List<String> items, Ask ask) {
        if (items.size() <= 1) {
            List<Object> answers = new ArrayList<>();
            for (String item : items) {
                try {
                    answers.add(ask.of(item));
                } catch (IOException | RuntimeException e) {
                    answers.add(e);
                }
            }
            return answers;
        }
        List<java.util.concurrent.Callable<Object>> tasks = new ArrayList<>();
        for (String item : items) {
            tasks.add(() -> {
                try {
                    return ask.of(item);
                } catch (IOException | RuntimeException e) {
                    return e;
                }
            });
        }
        try {
            return org.pgstrata.api.Parallel.run(Math.max(1, Math.min(ASKING, tasks.size())), "pgstrata-chain-check", tasks);
        } catch (IOException e) { // only an interrupt: each task returns what it threw
            throw repo.io("check the objects of the chain", e);
        }
    }

    public Manifest target() {
        return target;
    }

    /** The manifest of member {@code id} as this chain read it, or null when it is no member. */
    public Manifest member(String id) {
        return members.get(id);
    }

    /** The members, the target first. */
    public List<String> members() {
        return new ArrayList<>(members.keySet());
    }

    /**
     * Where a file of the target comes from, newest first: zero or more page sets, then the
     * whole file they lie over (new files are stored whole, so every walk ends at one).
     */
    public List<Layer> layers(String path) {
        return layersByPath.get(path);
    }

    private List<Layer> resolve(FileEntry file) {
        List<Layer> layers = new ArrayList<>();
        FileEntry e = file;
        Manifest in = target;
        for (int depth = 0; depth <= members.size() + 1; depth++) {
            switch (e.source()) {
                case FileEntry.WHOLE -> {
                    layers.add(new Layer(in.id(), e.object(), null, e.size()));
                    return layers;
                }
                case FileEntry.UNCHANGED -> {
                    if (e.object() != null) {
                        layers.add(new Layer(e.reference(), e.object(), null, e.size()));
                        return layers;
                    }
                }
                case FileEntry.PAGES -> layers.add(new Layer(in.id(), e.object(), e.blocks(), e.size()));
                default -> throw new PgstrataException(ErrorCode.CORRUPT, "backup " + in.id() + " stores " + e.path() + " as '" + e.source()
                        + "', which this version of pgstrata cannot restore", "use a newer pgstrata");
            }
            String ref = e.reference();
            in = members.get(ref);
            FileEntry next = in == null ? null : fileOf(in, e.path());
            if (next == null) {
                throw new PgstrataException(ErrorCode.CHAIN_BROKEN, "backup " + ref + " does not hold " + e.path() + ", which a later backup of "
                        + target.id() + "'s chain builds on; nothing was written", "restore a full backup");
            }
            e = next;
        }
        throw new PgstrataException(ErrorCode.CHAIN_BROKEN, "the chain of " + file.path() + " in " + target.id() + " loops", "restore a full backup");
    }

    private FileEntry fileOf(Manifest m, String path) {
        return filesByMember.computeIfAbsent(m.id(), id -> {
            Map<String, FileEntry> byPath = new HashMap<>();
            for (FileEntry f : m.files()) {
                byPath.put(f.path(), f);
            }
            return byPath;
        }).get(path);
    }
}
