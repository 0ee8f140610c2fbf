package org.pgstrata.api;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs tasks on a fixed number of threads and returns their results in task order. The first
 * failure is rethrown as it was thrown (an IOException stays an IOException), after the remaining
 * tasks are cancelled and every running one has ended.
 */
public final class Parallel {
    private Parallel() {
    }

    public static <T> List<T> run(int threads, String name, List<Callable<T>> tasks) throws IOException {
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads), r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (Callable<T> task : tasks) {
                futures.add(pool.submit(task));
            }
            List<T> results = new ArrayList<>();
            try {
                for (Future<T> f : futures) {
                    results.add(get(f));
                }
            } catch (IOException | RuntimeException | Error e) {
                // Stop the rest and wait for running tasks to end, so that the caller's clean-up
                // does not race with tasks still writing.
                futures.forEach(f -> f.cancel(true));
                pool.shutdownNow();
                awaitQuietly(pool);
                throw e;
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Starts {@code work} now on a daemon thread of its own, for a result wanted later: a request
     * to the repository that would otherwise wait its turn behind others it does not depend on.
     */
    public static <T> Ahead<T> ahead(String name, Callable<T> work) {
        java.util.concurrent.FutureTask<T> task = new java.util.concurrent.FutureTask<>(work);
        Thread t = new Thread(task, name);
        t.setDaemon(true);
        t.start();
        return new Ahead<>(task);
    }

    /** The result of {@link #ahead}: {@link #get} waits for it and rethrows its failure as it was thrown. */
    public static final class Ahead<T> {
        private final Future<T> task;

        private Ahead(Future<T> task) {
            this.task = task;
        }

        public T get() throws IOException {
            return Parallel.get(task);
        }
    }

    /**
     * Opens something that must be closed (a connection, a temporary file) on a daemon thread of
     * its own, for use later. Whoever takes it with {@link #get} closes it; closing the
     * {@code Opening} instead, untaken (the command failed before it needed it), closes it now if
     * it is open, or as soon as it opens, without waiting for it.
     */
    public static <T extends AutoCloseable> Opening<T> opening(String name, Callable<T> open) {
        Opening<T> o = new Opening<>();
        java.util.concurrent.FutureTask<T> task = new java.util.concurrent.FutureTask<>(() -> {
            T t = open.call();
            synchronized (o) {
                if (o.abandoned) {
                    closeQuietly(t);
                    return null;
                }
                o.opened = t;
            }
            return t;
        });
        o.task = task;
        Thread t = new Thread(task, name);
        t.setDaemon(true);
        t.start();
        return o;
    }

    /** What {@link #opening} opens: taken once by {@link #get}, else closed by {@link #close}. */
    public static final class Opening<T extends AutoCloseable> implements AutoCloseable {
        private java.util.concurrent.FutureTask<T> task;
        private T opened;
        private boolean abandoned;
        private boolean taken;

        private Opening() {
        }

        /** Waits for it and hands it over (the caller closes it), or rethrows the failure to open it as it was thrown. */
        public T get() throws IOException {
            T t = Parallel.get(task);
            synchronized (this) {
                taken = true;
            }
            return t;
        }

        /** Waits until it is open, rethrowing the failure to open it, without taking it. */
        public void await() throws IOException {
            Parallel.get(task);
        }

        /** Closes it unless it was taken; a failure to open it, or to close it, is nobody's concern any more. */
        @Override
        public void close() {
            T ready = null;
            synchronized (this) {
                if (taken || abandoned) {
                    return;
                }
                abandoned = true;
                ready = opened; // null while it opens (its thread closes it then) or when it failed to
            }
            closeQuietly(ready);
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            // closing what nobody uses: nothing to report
        }
    }

    private static void awaitQuietly(ExecutorService pool) {
        try {
            pool.awaitTermination(10, java.util.concurrent.TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static <T> T get(Future<T> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IOException(cause);
        }
    }
}
