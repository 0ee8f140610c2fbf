package org.pgstrata.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.pgstrata.api.PgstrataException;

/** Values quoted as PostgreSQL's configuration file parser reads them (guc-file.l). */
class ConfValueTest {
    @Test
    void quotesAreDoubled_andBackslashesEscaped_soThatOctalEscapesStayText() {
        assertThat(ConfValue.quote("it's")).isEqualTo("'it''s'");
        assertThat(ConfValue.quote("/r/z\\047; touch /tmp/pwned; echo \\047")).isEqualTo("'/r/z\\\\047; touch /tmp/pwned; echo \\\\047'");
        assertThat(ConfValue.quote("a\\'b")).isEqualTo("'a\\\\''b'");
    }

    @Test
    void controlCharacters_becomeEscapes_thatTheParserDecodes() {
        assertThat(ConfValue.quote("a\nb\tc\rd")).isEqualTo("'a\\nb\\tc\\rd'");
        assertThat(ConfValue.quote("x\u00017")).isEqualTo("'x\\0017'");
    }

    @Test
    void unicodeAndShellCharacters_passThrough() {
        assertThat(ConfValue.quote("ü 雪 $(x) `y` ; \" %")).isEqualTo("'ü 雪 $(x) `y` ; \" %'");
    }

    @Test
    void aNulCharacter_isRefused_andANameMustBeAParameterName() {
        assertThatThrownBy(() -> ConfValue.quote("a\0b")).isInstanceOf(PgstrataException.class).hasMessageContaining("NUL");
        assertThat(ConfValue.line("archive_command", "x")).isEqualTo("archive_command = 'x'\n");
        assertThatThrownBy(() -> ConfValue.line("a = 1\nb", "x")).isInstanceOf(IllegalArgumentException.class);
    }
}
