package org.pgstrata;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Holds the layering of STYLE.md: cli -> facade -> engines -> {manifest, storage, db, postgres} -> api. */
class ArchitectureTest {
    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages("org.pgstrata");
    }

    @Test
    void nothingImportsTheCommandLine() {
        noClasses().that().resideOutsideOfPackage("org.pgstrata.cli..")
                .should().dependOnClassesThat().resideInAPackage("org.pgstrata.cli..").check(classes);
    }

    @Test
    void onlyTheCommandLineUsesPicocli() {
        noClasses().that().resideOutsideOfPackage("org.pgstrata.cli..")
                .should().dependOnClassesThat().resideInAPackage("picocli..").check(classes);
    }

    @Test
    void apiDependsOnNothingOfOurs() {
        noClasses().that().resideInAPackage("org.pgstrata.api..")
                .should().dependOnClassesThat().resideInAnyPackage("org.pgstrata", "org.pgstrata.cli..", "org.pgstrata.backup..",
                        "org.pgstrata.restore..", "org.pgstrata.manifest..", "org.pgstrata.storage..", "org.pgstrata.postgres..",
                        "org.pgstrata.db..", "org.pgstrata.demo..", "org.pgstrata.compare..", "org.pgstrata.advise..", "org.pgstrata.wal..",
                        "org.pgstrata.logical..")
                .check(classes);
    }

    @Test
    void postgresFormatsArePure() {
        noClasses().that().resideInAPackage("org.pgstrata.postgres..")
                .should().dependOnClassesThat().resideInAnyPackage("org.pgstrata", "org.pgstrata.cli..", "org.pgstrata.backup..",
                        "org.pgstrata.restore..", "org.pgstrata.manifest..", "org.pgstrata.storage..", "org.pgstrata.db..",
                        "org.pgstrata.demo..", "org.pgstrata.compare..", "org.pgstrata.advise..", "org.pgstrata.wal..", "org.pgstrata.logical..", "java.sql..", "org.postgresql..",
                        "com.fasterxml..")
                .check(classes);
    }

    @Test
    void storageImportsNoEngineCode() {
        noClasses().that().resideInAPackage("org.pgstrata.storage..")
                .should().dependOnClassesThat().resideInAnyPackage("org.pgstrata", "org.pgstrata.backup..", "org.pgstrata.restore..",
                        "org.pgstrata.manifest..", "org.pgstrata.db..", "org.pgstrata.demo..", "org.pgstrata.compare..",
                        "org.pgstrata.advise..", "org.pgstrata.postgres..", "org.pgstrata.wal..", "org.pgstrata.logical..")
                .check(classes);
    }

    @Test
    void lowLayersDoNotReachUp() {
        noClasses().that().resideInAnyPackage("org.pgstrata.manifest..", "org.pgstrata.db..")
                .should().dependOnClassesThat().resideInAnyPackage("org.pgstrata", "org.pgstrata.backup..", "org.pgstrata.restore..",
                        "org.pgstrata.demo..", "org.pgstrata.compare..", "org.pgstrata.advise..", "org.pgstrata.wal..", "org.pgstrata.logical..")
                .check(classes);
        noClasses().that().resideInAPackage("org.pgstrata.manifest..")
                .should().dependOnClassesThat().resideInAnyPackage("org.pgstrata.db..", "java.sql..")
                .check(classes);
    }

    @Test
    void enginesShareTheManifestNotEachOther() {
        String[] engines = {"org.pgstrata.backup..", "org.pgstrata.restore..", "org.pgstrata.demo..", "org.pgstrata.wal..", "org.pgstrata.logical.."};
        for (String engine : engines) {
            java.util.List<String> others = new java.util.ArrayList<>(java.util.List.of(engines));
            others.remove(engine);
            others.add("org.pgstrata.compare..");
            others.add("org.pgstrata.advise..");
            others.add("org.pgstrata");
            noClasses().that().resideInAPackage(engine)
                    .should().dependOnClassesThat().resideInAnyPackage(others.toArray(String[]::new))
                    .check(classes);
        }
    }

    @Test
    void thePushPathLoadsNoFrameworks() {
        // archive_command starts a process per segment: its code must not touch picocli or Jackson.
        noClasses().that().haveFullyQualifiedName("org.pgstrata.cli.Main").or().haveFullyQualifiedName("org.pgstrata.cli.LeanWal")
                .or().resideInAPackage("org.pgstrata.wal..")
                .should().dependOnClassesThat().resideInAnyPackage("picocli..", "com.fasterxml..")
                .check(classes);
        noClasses().that().haveFullyQualifiedName("org.pgstrata.manifest.WalArchive")
                .or().haveFullyQualifiedName("org.pgstrata.manifest.RepoIdentity").or().haveFullyQualifiedName("org.pgstrata.manifest.Envelope")
                .should().dependOnClassesThat().haveFullyQualifiedName("org.pgstrata.manifest.Json")
                .check(classes);
    }

    @Test
    void onlyTheCommandLinePrintsToTheTerminal() {
        noClasses().that().resideOutsideOfPackage("org.pgstrata.cli..")
                .should().accessField(System.class, "out").orShould().accessField(System.class, "err")
                .check(classes);
    }
}
