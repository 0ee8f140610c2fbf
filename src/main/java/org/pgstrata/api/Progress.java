package org.pgstrata.api;

/**
 * The one way code below the command line reports what it is doing. The command line turns it
 * into a progress bar or log lines; tests and scripts pass {@link #NONE}.
 */
public interface Progress {
    /** A step has started, e.g. "copying data directory". */
    void step(String description);

    /** Work within the current step: {@code done} of {@code total} units ({@code total} may be -1). */
    void advance(long done, long total);

    /**
     * What a long job is doing now, in one line that replaces the previous one where the output
     * allows (a terminal); elsewhere the same as {@link #step}.
     */
    default void status(String description) {
        step(description);
    }

    /** Something the user should know about but that does not stop the work. */
    void warn(String message);

    Progress NONE = new Progress() {
        @Override
        public void step(String description) {
        }

        @Override
        public void advance(long done, long total) {
        }

        @Override
        public void warn(String message) {
        }
    };

    /** Passes on only the warnings of {@code to}: for work whose steps another line already describes. */
    static Progress warningsOnly(Progress to) {
        return new Progress() {
            @Override
            public void step(String description) {
            }

            @Override
            public void advance(long done, long total) {
            }

            @Override
            public void warn(String message) {
                to.warn(message);
            }
        };
    }
}
