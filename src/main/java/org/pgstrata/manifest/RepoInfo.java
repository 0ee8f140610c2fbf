package org.pgstrata.manifest;

/**
 * repo.json: which cluster a repository serves. A repository serves one cluster (by system
 * identifier) of one major version; anything else is refused.
 */
public record RepoInfo(int formatVersion, String systemIdentifier, int pgMajor, String created) {
    public static final int FORMAT_VERSION = 1;
}
