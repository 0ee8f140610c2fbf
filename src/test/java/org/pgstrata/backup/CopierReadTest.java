package org.pgstrata.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.Progress;

/**
 * {@code Copier.read} sizes its buffer by the size the scan saw (a small file does not get a
 * whole chunk), but a file may have grown since: it must still be read to its end, as it was
 * when every buffer was a chunk. Reached by reflection: the copier needs a running backup otherwise.
 */
class CopierReadTest {
    @TempDir
    Path dir;

    @Test
    void aFileThatGrewSinceTheScan_isReadToItsEnd() throws Exception {
        // A file the scan saw at one page; by the time it is copied it holds 40 (a table being filled, a log written).
        Path file = dir.resolve("grown");
        byte[] content = new byte[40 * 8192];
        new java.util.Random(7).nextBytes(content);
        Files.write(file, content);
        DataDirectoryScan.Item item = new DataDirectoryScan.Item("grown", file, 8192, "rw-------", 0);

        Class<?> copierClass = Class.forName(PhysicalBackup.class.getName() + "$Copier");
        Constructor<?> make = copierClass.getDeclaredConstructors()[0];
        make.setAccessible(true);
        Object[] args = new Object[make.getParameterCount()];
        Class<?>[] types = make.getParameterTypes();
        for (int i = 0; i < args.length; i++) {
            if (types[i] == boolean.class) {
                args[i] = false;
            } else if (types[i] == long.class) {
                args[i] = 0L;
            } else if (types[i] == int.class) {
                args[i] = 0;
            }
        }
        args[0] = new PhysicalBackup(Clock.systemUTC(), Progress.NONE);
        Object copier = make.newInstance(args);

        Class<?> chunksClass = Class.forName(PhysicalBackup.class.getName() + "$Copier$Chunks");
        AtomicLong handed = new AtomicLong();
        Object chunks = Proxy.newProxyInstance(chunksClass.getClassLoader(), new Class<?>[] {chunksClass}, (p, m, a) -> {
            if (m.getName().equals("accept")) {
                handed.addAndGet((Integer) a[1]);
            }
            return null;
        });
        Method read = copierClass.getDeclaredMethod("read", DataDirectoryScan.Item.class, chunksClass, boolean.class);
        read.setAccessible(true);
        Object r = read.invoke(copier, item, chunks, false);
        Method size = r.getClass().getDeclaredMethod("size");
        size.setAccessible(true);

        assertThat(handed.get()).as("bytes handed on").isEqualTo(content.length);
        assertThat((Long) size.invoke(r)).as("size recorded").isEqualTo(content.length);
    }
}
