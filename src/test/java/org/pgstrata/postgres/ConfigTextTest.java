package org.pgstrata.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** postgresql.conf lines read as PostgreSQL's lexer reads them, and values written so that it reads them back unchanged. */
class ConfigTextTest {
    @Test
    void settings_withAndWithoutEquals_quotedOrBare_commentsIgnored() {
        String text = """
                # a comment
                data_directory = '/var/lib/postgresql/15/main'		# use data in another directory
                include_dir 'conf.d'
                port=5433 # trailing
                  INCLUDE_IF_EXISTS = 'it''s here.conf'
                #include 'commented.conf'
                """;
        assertThat(ConfigText.settings(text)).extracting(s -> s.name() + "|" + s.value() + "|" + s.line()).containsExactly(
                "data_directory|/var/lib/postgresql/15/main|1", "include_dir|conf.d|2", "port|5433|3", "include_if_exists|it's here.conf|4");
    }

    @Test
    void backslashEscapes_decodedAsTheServerDoes() {
        assertThat(ConfigText.settings("a = 'x\\047y\\\\z\\n'").get(0).value()).isEqualTo("x'y\\z\n");
    }

    @Test
    void confValue_roundTripsQuotesAndBackslashes() {
        for (String v : new String[] {"/plain", "it's", "back\\slash", "z\\047; touch /tmp/pwned; echo \\047", "ünï cödé $(x) `y`"}) {
            assertThat(ConfigText.settings("k = " + ConfValue.quote(v)).get(0).value()).isEqualTo(v);
        }
    }

    @Test
    void commentOut_onlyThatSetting() {
        String out = ConfigText.commentOut("data_directory = '/a'\nport = 1\n", "data_directory", "moved");
        assertThat(out).isEqualTo("#data_directory = '/a'  # moved\nport = 1\n");
    }
}
