package org.pgstrata.it;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.pgstrata.api.Progress;

/**
 * A {@link Progress} for tests that keeps the warnings a command gave and can act at a chosen
 * point of its work: at a step (promote a standby, delete a backup while a drill checks it) or at an
 * advance (stop the S3 server a third of the way through a copy). {@link #status} stays a step, as
 * for every Progress. The command may report from its own threads; the test reads on its thread.
 */
final class RecordingProgress implements Progress {

    /** What a test does when the command starts a step; an exception it throws fails the command. */
    @FunctionalInterface
    interface AtStep {
        void at(String description) throws Exception;
    }

    /** What a test does when the command advances within a step; an exception it throws fails the command. */
    @FunctionalInterface
    interface AtAdvance {
        void at(long done, long total) throws Exception;
    }

    private final List<String> warnings = new CopyOnWriteArrayList<>();
    private final AtStep atStep;
    private final AtAdvance atAdvance;

    /** Only keeps the warnings. */
    RecordingProgress() {
        this(description -> {
        }, (done, total) -> {
        });
    }

    private RecordingProgress(AtStep atStep, AtAdvance atAdvance) {
        this.atStep = atStep;
        this.atAdvance = atAdvance;
    }

    /** Keeps the warnings and runs {@code action} at every step. */
    static RecordingProgress atStep(AtStep action) {
        return new RecordingProgress(action, (done, total) -> {
        });
    }

    /** Keeps the warnings and runs {@code action} at every advance. */
    static RecordingProgress atAdvance(AtAdvance action) {
        return new RecordingProgress(description -> {
        }, action);
    }

    @Override
    public void step(String description) {
        try {
            atStep.at(description);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void advance(long done, long total) {
        try {
            atAdvance.at(done, total);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void warn(String message) {
        warnings.add(message);
    }

    /** The warnings so far, in the order they were given. */
    List<String> warnings() {
        return List.copyOf(warnings);
    }
}
