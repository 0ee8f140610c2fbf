package org.pgstrata.manifest;

import java.lang.ref.SoftReference;
import java.util.AbstractList;
import java.util.Iterator;
import java.util.List;
import java.util.ListIterator;
import java.util.RandomAccess;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The file list of a manifest read for the catalogue (every backup of the repository), held
 * through a soft reference: the commands that choose among backups read all manifests, about 210
 * bytes of heap per file each, so a repository of many backups of a cluster of many files held
 * them all at once. Now the JVM may drop the lists it needs room for (it clears every soft
 * reference before it runs out of heap), and a list dropped is read again from the repository
 * when it is next used. The bytes read again must be the very bytes read the first time (their
 * CRC-32C and length), or the manifest changed under the command: an error, never another list.
 *
 * <p>The catalogue reads manifests for their header only: their lists start unread, and are read
 * (with their entries checked) when first used.
 *
 * <p>While iterated or streamed, the list is held strongly; what a backup's files refer to
 * ({@link #references()}) is kept apart, so that expire's dependency walk reads no list twice.
 */
final class SoftFiles extends AbstractList<FileEntry> implements RandomAccess {
    /** Reads the list again: must return the same content, or throw. */
    interface Reload {
        List<FileEntry> files();
    }

    /** The number of files, -1 until the list was first read. */
    private volatile int size;
    private volatile Set<String> references;
    private final Reload reload;
    private volatile SoftReference<List<FileEntry>> held;

    SoftFiles(List<FileEntry> files, Reload reload) {
        this.reload = reload;
        this.held = new SoftReference<>(java.util.Collections.unmodifiableList(files));
        this.size = files.size();
        this.references = referencesOf(files);
    }

    /**
     * A list not read yet: {@code reload} reads it the first time it is used (a manifest read for
     * its header only), and again whenever the JVM dropped it.
     */
    SoftFiles(Reload reload) {
        this.reload = reload;
        this.held = new SoftReference<>(null);
        this.size = -1;
    }

    private static Set<String> referencesOf(List<FileEntry> files) {
        Set<String> refs = new java.util.HashSet<>();
        for (FileEntry f : files) {
            if (f.reference() != null) {
                refs.add(f.reference());
            }
        }
        return Set.copyOf(refs);
    }

    /** The backups the files' entries name as their reference. */
    Set<String> references() {
        if (references == null) {
            files();
        }
        return references;
    }

    private List<FileEntry> files() {
        List<FileEntry> f = held.get();
        if (f == null) {
            synchronized (this) {
                f = held.get();
                if (f != null) {
                    return f;
                }
                f = reload.files();
                if (size >= 0 && f.size() != size) {
                    throw new IllegalStateException("a manifest read again lists " + f.size() + " files, not " + size);
                }
                f = java.util.Collections.unmodifiableList(f);
                if (size < 0) {
                    references = referencesOf(f);
                    size = f.size();
                }
                held = new SoftReference<>(f);
            }
        }
        return f;
    }

    @Override
    public FileEntry get(int index) {
        return files().get(index);
    }

    @Override
    public int size() {
        if (size < 0) {
            files();
        }
        return size;
    }

    @Override
    public Iterator<FileEntry> iterator() {
        return files().iterator();
    }

    @Override
    public ListIterator<FileEntry> listIterator(int index) {
        return files().listIterator(index);
    }

    @Override
    public Stream<FileEntry> stream() {
        return files().stream();
    }

    @Override
    public void forEach(Consumer<? super FileEntry> action) {
        files().forEach(action);
    }

    @Override
    public Object[] toArray() {
        return files().toArray();
    }

    @Override
    public <T> T[] toArray(T[] a) {
        return files().toArray(a);
    }

    /** Whether the list is on the heap now (for the test). */
    boolean held() {
        return held.get() != null;
    }

    /** Drops the list as the JVM would under pressure (for the test). */
    void drop() {
        held = new SoftReference<>(null);
    }
}
