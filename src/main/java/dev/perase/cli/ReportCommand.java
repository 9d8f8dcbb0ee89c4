package dev.perase.cli;

import dev.perase.io.Json;
import dev.perase.io.RunLock;
import dev.perase.report.Report;
import dev.perase.report.StudyReport;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "report",
    mixinStandardHelpOptions = true,
    description = {
      "Renders a study's report from its data: report.html (tables like the paper's, image grids,"
          + " charts, concept-neuron heat maps, settings and timings) with charts/ and images/"
          + " beside it, and report.json, the data the page shows. The folder is self-contained:"
          + " no network, no script.",
      "The input is a report.json as perase writes it (perase demo, or an earlier report);"
          + " relative image paths in it are taken from the working directory."
    },
    footer = {
      "",
      "Examples:",
      "  ./perase report --from out/demo/report/report.json --out out/demo/report",
      "  ./perase report --from my-study.json --out out/my-report"
    })
final class ReportCommand implements Callable<Integer> {
  @Option(names = "--from", required = true, description = "The report data (report.json).")
  Path from;

  @Option(names = "--out", required = true, description = "The report folder.")
  Path out;

  @Override
  public Integer call() {
    StudyReport report = Json.read(from, StudyReport.class);
    Path html;
    try (RunLock lock = RunLock.acquire(out, "report")) {
      html = Report.write(report, out);
    }
    System.out.println("wrote " + html);
    return 0;
  }
}
