package org.pgstrata.manifest;

import org.pgstrata.storage.crypt.KeyEnvelope;

/**
 * repo.json: which cluster a repository serves. A repository serves one cluster (by system
 * identifier) of one major version; anything else is refused. An encrypted repository's
 * repo.json also holds its data key, wrapped for the passphrase ({@code encryption}); it is
 * the only object such a repository keeps in the clear. Format 2 marks an encrypted repository,
 * so that a pgstrata that knows format 1 only refuses it rather than write clear objects into it.
 */
public record RepoInfo(int formatVersion, String systemIdentifier, int pgMajor, String created, KeyEnvelope encryption) {
    /** What this pgstrata writes for a repository in the clear. */
    public static final int FORMAT_VERSION = 1;
    /** What it writes for an encrypted one, and the newest it reads. */
    public static final int ENCRYPTED_FORMAT_VERSION = 2;

    public RepoInfo(int formatVersion, String systemIdentifier, int pgMajor, String created) {
        this(formatVersion, systemIdentifier, pgMajor, created, null);
    }

    public boolean encrypted() {
        return encryption != null;
    }
}
