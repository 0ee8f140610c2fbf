package org.pgstrata.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The thread that flushes large restored files early: a flush that fails is reported when the
 * restore stops flushing (never lost, though the final sync may no longer see the error), and
 * the thread is gone by then. Reached by reflection: a restore that fails an fsync cannot be made
 * otherwise.
 */
class EarlyFlushTest {
    @TempDir
    Path dir;

    @Test
    void aFailedFlush_isReportedByStopFlushing_andTheThreadIsGone() throws Exception {
        Class<?> writesClass = Class.forName(PhysicalRestore.class.getName() + "$Writes");
        Constructor<?> make = writesClass.getDeclaredConstructor();
        make.setAccessible(true);
        Object writes = make.newInstance();
        Method written = writesClass.getDeclaredMethod("written", Path.class, long.class);
        written.setAccessible(true);
        Method stop = writesClass.getDeclaredMethod("stopFlushing");
        stop.setAccessible(true);

        // Gone before its flush ran: opening it fails as an fsync would.
        written.invoke(writes, dir.resolve("vanished"), 16L << 20);
        assertThatThrownBy(() -> {
            try {
                stop.invoke(writes);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        }).isInstanceOf(IOException.class).hasMessageContaining("could not be made durable").hasMessageContaining("vanished");
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().equals("pgstrata-flush") && t.isAlive());
    }
}
