package org.pgstrata.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** README.md and docs/: every relative link names a file that exists (and a heading there, for #anchors), and every page is reachable. */
class DocsLinksTest {
    private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");

    private static List<Path> pages() throws Exception {
        List<Path> pages = new ArrayList<>(List.of(Path.of("README.md")));
        try (Stream<Path> s = Files.list(Path.of("docs"))) {
            s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
        }
        return pages;
    }

    /** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
    private static String anchor(String heading) {
        return heading.strip().toLowerCase().replaceAll("[^\\p{L}\\p{N} _-]", "").replace(' ', '-');
    }

    @Test
    void everyRelativeLink_pointsAtAFileAndHeadingThatExist() throws Exception {
        List<String> broken = new ArrayList<>();
        for (Path page : pages()) {
            Matcher m = LINK.matcher(Files.readString(page));
            while (m.find()) {
                String target = m.group(1);
                if (target.startsWith("http://") || target.startsWith("https://")) {
                    continue;
                }
                String file = target.contains("#") ? target.substring(0, target.indexOf('#')) : target;
                String frag = target.contains("#") ? target.substring(target.indexOf('#') + 1) : null;
                Path resolved = file.isEmpty() ? page : page.toAbsolutePath().getParent().resolve(file).normalize();
                if (!Files.exists(resolved)) {
                    broken.add(page + ": " + target + " (no such file)");
                    continue;
                }
                if (frag != null) {
                    boolean found = Files.readAllLines(resolved).stream().filter(l -> l.startsWith("#"))
                            .anyMatch(l -> anchor(l.replaceFirst("^#+", "")).equals(frag));
                    if (!found) {
                        broken.add(page + ": " + target + " (no such heading)");
                    }
                }
            }
        }
        assertThat(broken).isEmpty();
    }

    @Test
    void everyPageOfDocs_isLinkedFromTheIndex_andTheFrontPageStaysShort() throws Exception {
        String index = Files.readString(Path.of("docs/README.md"));
        for (Path page : pages()) {
            if (page.startsWith("docs") && !page.getFileName().toString().equals("README.md")) {
                assertThat(index).as("docs/README.md links " + page.getFileName()).contains("](" + page.getFileName() + ")");
            }
        }
        assertThat(Files.readAllLines(Path.of("README.md")).size()).as("README.md is a front page").isLessThanOrEqualTo(200);
    }
}
