package org.pgstrata.storage.s3;

import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A repository in an S3 bucket: {@code s3://BUCKET/PREFIX}, with the options that say how to reach
 * it. On the command line the options are {@code --s3-endpoint}, {@code --s3-region} and
 * {@code --s3-path-style}; inside pgstrata (and in PGSTRATA_REPO) one location string carries
 * them as a query: {@code s3://BUCKET/PREFIX?endpoint=URL&region=R&path-style=true}. Credentials
 * never appear here: they come from the AWS SDK's default chain.
 */
public record S3Location(String bucket, String prefix, String endpoint, String region, boolean pathStyle) {
    public static final String SCHEME = "s3://";

    public static boolean isS3(String location) {
        return location != null && location.startsWith(SCHEME);
    }

    /** Parses {@code s3://BUCKET[/PREFIX][?endpoint=..&region=..&path-style=true]}. */
    public static S3Location parse(String location) {
        if (!isS3(location)) {
            throw new IllegalArgumentException("'" + location + "' is not an s3:// location");
        }
        String rest = location.substring(SCHEME.length());
        String query = null;
        int q = rest.indexOf('?');
        if (q >= 0) {
            query = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        int slash = rest.indexOf('/');
        String bucket = slash < 0 ? rest : rest.substring(0, slash);
        String prefix = slash < 0 ? "" : trimSlashes(rest.substring(slash + 1));
        if (!bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
            throw new IllegalArgumentException("'" + bucket + "' is not a valid bucket name (3 to 63 lower-case letters, digits, dots and hyphens)");
        }
        if (prefix.contains("//") || prefix.contains("..")) {
            throw new IllegalArgumentException("the prefix '" + prefix + "' has an empty or '..' part");
        }
        String endpoint = null;
        String region = null;
        boolean pathStyle = false;
        if (query != null && !query.isEmpty()) {
            for (String pair : query.split("&")) {
                int eq = pair.indexOf('=');
                String name = eq < 0 ? pair : pair.substring(0, eq);
                String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                switch (name) {
                    case "endpoint" -> endpoint = value;
                    case "region" -> region = value;
                    case "path-style" -> pathStyle = value.isEmpty() || Boolean.parseBoolean(value);
                    default -> throw new IllegalArgumentException("unknown option '" + name + "' in " + location
                            + " (known: endpoint, region, path-style)");
                }
            }
        }
        S3Location loc = new S3Location(bucket, prefix, endpoint, region, pathStyle);
        loc.endpointUri();
        return loc;
    }

    /**
     * The location string for {@code repo} with the command line's S3 options folded in; a local
     * directory is returned as it is (the options are refused there).
     */
    public static String withOptions(String repo, String endpoint, String region, boolean pathStyle) {
        if (!isS3(repo)) {
            if (endpoint != null || region != null || pathStyle) {
                throw new IllegalArgumentException("--s3-endpoint, --s3-region and --s3-path-style apply only to an s3:// repository, not to "
                        + repo);
            }
            return repo;
        }
        S3Location loc = parse(repo);
        return new S3Location(loc.bucket, loc.prefix, endpoint != null ? endpoint : loc.endpoint,
                region != null ? region : loc.region, pathStyle || loc.pathStyle).toString();
    }

    URI endpointUri() {
        if (endpoint == null) {
            return null;
        }
        URI uri;
        try {
            uri = URI.create(endpoint);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the S3 endpoint '" + endpoint + "' is not a URL");
        }
        if (uri.getScheme() == null || !(uri.getScheme().equals("http") || uri.getScheme().equals("https")) || uri.getHost() == null) {
            throw new IllegalArgumentException("the S3 endpoint '" + endpoint + "' is not an http:// or https:// URL");
        }
        return uri;
    }

    /** Any repository location as messages name it: an S3 one without its options. */
    public static String describe(String location) {
        return isS3(location) ? parse(location).describe() : location;
    }

    /** {@code s3://BUCKET/PREFIX}, for messages. */
    public String describe() {
        return SCHEME + bucket + (prefix.isEmpty() ? "" : "/" + prefix);
    }

    /** The arguments that name this repository on the command line, options included. */
    public List<String> arguments() {
        List<String> args = new ArrayList<>(List.of("--repo", describe()));
        if (endpoint != null) {
            args.addAll(List.of("--s3-endpoint", endpoint));
        }
        if (region != null) {
            args.addAll(List.of("--s3-region", region));
        }
        if (pathStyle) {
            args.add("--s3-path-style");
        }
        return args;
    }

    /** The object key of a repository key. */
    String key(String repositoryKey) {
        return prefix.isEmpty() ? repositoryKey : prefix + "/" + repositoryKey;
    }

    /** The repository key of an object key under the prefix. */
    String repositoryKey(String objectKey) {
        return prefix.isEmpty() ? objectKey : objectKey.substring(prefix.length() + 1);
    }

    @Override
    public String toString() {
        List<String> q = new ArrayList<>();
        if (endpoint != null) {
            q.add("endpoint=" + URLEncoder.encode(endpoint, StandardCharsets.UTF_8));
        }
        if (region != null) {
            q.add("region=" + URLEncoder.encode(region, StandardCharsets.UTF_8));
        }
        if (pathStyle) {
            q.add("path-style=true");
        }
        return describe() + (q.isEmpty() ? "" : "?" + String.join("&", q));
    }

    private static String trimSlashes(String s) {
        int a = 0;
        int b = s.length();
        while (a < b && s.charAt(a) == '/') {
            a++;
        }
        while (b > a && s.charAt(b - 1) == '/') {
            b--;
        }
        return s.substring(a, b);
    }
}
