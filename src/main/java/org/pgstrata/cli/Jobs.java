package org.pgstrata.cli;

/**
 * The one check of every --jobs option: a whole number from 1 to {@link #MAX}. The bound is fixed
 * rather than a multiple of this machine's cores, so that a command line that works on one host
 * works on every other; 256 threads (and, where jobs open connections, 256 connections) is far
 * past what helps, and far below what would exhaust a host.
 */
final class Jobs extends BoundedInt {
    static final int MAX = 256;

    /** The default of the commands whose work is CPU-bound on this host (restore, verify): one job per core. */
    static int cores() {
        return Math.max(1, Math.min(MAX, Runtime.getRuntime().availableProcessors()));
    }

    Jobs() {
        super(1, MAX, "a number of jobs (1 to " + MAX + ")", "is out of range: give 1 to " + MAX + " jobs");
    }
}
