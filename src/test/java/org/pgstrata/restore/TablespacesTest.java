package org.pgstrata.restore;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class TablespacesTest {

    @Test
    void parseMap_readsTheEscapesPgBackupStopWrites() {
        // A backslash before a newline, a carriage return or a backslash keeps it in the location.
        String map = "16384 /mnt/a\\\nb\n16385 /mnt/c\\\\d e\r\n16386 /mnt/\\\rf\n";
        assertThat(Tablespaces.parseMap(map)).isEqualTo(Map.of("16384", "/mnt/a\nb", "16385", "/mnt/c\\d e", "16386", "/mnt/\rf"));
        assertThat(Tablespaces.parseMap(null)).isEmpty();
        assertThat(Tablespaces.parseMap("")).isEmpty();
    }
}
