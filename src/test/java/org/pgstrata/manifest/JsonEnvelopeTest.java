package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.pgstrata.storage.CorruptObjectException;

class JsonEnvelopeTest {
    @Test
    void seal_thenUnseal_returnsTheValue() throws Exception {
        RepoInfo info = new RepoInfo(1, "7311", 17, "2026-11-24T00:00:00Z");
        assertThat(Json.unseal("repo.json", Json.seal(info), RepoInfo.class)).isEqualTo(info);
    }

    @Test
    void seal_writesTheSameBytesAsTheEnvelopeOfTheWholeText() throws Exception {
        RepoInfo info = new RepoInfo(1, "7311", 17, "2026-11-24T00:00:00Z");
        assertThat(Json.seal(info)).isEqualTo(Envelope.seal(Json.MAPPER.writeValueAsBytes(info)));
    }

    @Test
    void unseal_ofAnEditedBody_failsAsCorrupt() throws Exception {
        String sealed = new String(Json.seal(new RepoInfo(1, "7311", 17, "t")), StandardCharsets.UTF_8);
        byte[] edited = sealed.replace("7311", "7312").getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> Json.unseal("repo.json", edited, RepoInfo.class))
                .isInstanceOf(CorruptObjectException.class).hasMessageContaining("repo.json").hasMessageContaining("checksum");
    }

    @Test
    void unseal_ofPlainJson_failsAsCorrupt() {
        byte[] plain = "{\"formatVersion\":1}".getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> Json.unseal("repo.json", plain, RepoInfo.class)).isInstanceOf(CorruptObjectException.class);
    }

    @Test
    void unseal_ofATruncatedFile_failsAsCorrupt() throws Exception {
        byte[] sealed = Json.seal(new RepoInfo(1, "7311", 17, "t"));
        byte[] torn = java.util.Arrays.copyOf(sealed, sealed.length / 2);
        assertThatThrownBy(() -> Json.unseal("repo.json", torn, RepoInfo.class)).isInstanceOf(CorruptObjectException.class);
    }
}
