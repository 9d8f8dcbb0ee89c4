package dev.perase.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.perase.io.Json;
import dev.perase.io.Png;
import dev.perase.report.GridFigure;
import dev.perase.report.MethodRow;
import dev.perase.report.Report;
import dev.perase.report.StudyReport;
import dev.perase.report.TestBed;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code perase report}: renders a report folder from report data; bad data exits 2. */
class ReportCommandTest {
  @TempDir Path tmp;

  @Test
  void reportRendersTheFolderFromItsData() throws IOException {
    Path image = tmp.resolve("a.png");
    Png.write(image, new Png.Image(32, 32, new byte[3 * 32 * 32]));
    StudyReport study =
        new StudyReport(
            "study",
            null,
            null,
            null,
            List.of(
                new TestBed(
                    "star",
                    "a star",
                    "object",
                    1,
                    List.of(new MethodRow("P-ESD", false, 1.0, 0.5, 0.25, 1.5, 1e-5, 3.0)),
                    List.of(
                        new GridFigure(
                            "grid", null, null, null, List.of(List.of(image.toString())), null)),
                    null,
                    null,
                    null,
                    null)),
            null);
    Path data = tmp.resolve("study.json");
    Json.write(data, study);
    Path out = tmp.resolve("report");
    CliRun r = CliRun.of("report", "--from", data.toString(), "--out", out.toString());
    assertEquals(0, r.code(), r.err());
    Path html = out.resolve(Report.HTML);
    assertTrue(r.out().contains(html.toString()), r.out());
    assertEquals(List.of(), Report.missingReferences(html));
    assertTrue(Files.readString(html).contains("<td class=\"cer_p4d\">0.25</td>"));
    assertEquals(
        Json.MAPPER.readTree(data.toFile()),
        Json.MAPPER.readTree(out.resolve(Report.JSON).toFile()));
  }

  @Test
  void badReportDataExitsTwoWithOneSentence() throws IOException {
    Path data = tmp.resolve("bad.json");
    Files.writeString(
        data,
        "{\"title\": \"t\", \"test_beds\": [{\"name\": \"x\", \"rows\": [{\"method\": \"ESD\","
            + " \"cer_test\": 7}]}]}");
    CliRun r = CliRun.of("report", "--from", data.toString(), "--out", tmp.resolve("o").toString());
    assertEquals(2, r.code());
    assertTrue(r.err().startsWith("error: "), r.err());
    assertTrue(r.err().contains("cer_test must lie in [0, 1]"), r.err());
    assertTrue(Files.notExists(tmp.resolve("o")));
  }
}
