package dev.perase.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.io.BadInputException;
import java.util.List;

/**
 * Everything a study's report shows, as plain data: {@link Report#write} renders it as {@code
 * report.html} with its charts and images, and writes it beside the page as {@code report.json} so
 * that every number in the page can be checked against it.
 *
 * @param title the page's title
 * @param description a paragraph under the title, or null
 * @param created when the study ran (shown as given, e.g. an ISO-8601 time), or null
 * @param environment versions, machine, seeds: shown as a settings table
 * @param testBeds the test beds, in display order
 * @param steps every step of the study with its settings and wall time
 */
public record StudyReport(
    @JsonProperty("title") String title,
    @JsonProperty("description") String description,
    @JsonProperty("created") String created,
    @JsonProperty("environment") List<Setting> environment,
    @JsonProperty("test_beds") List<TestBed> testBeds,
    @JsonProperty("steps") List<Step> steps) {
  public StudyReport {
    if (title == null || title.isBlank()) {
      throw new BadInputException("a report needs a title");
    }
    environment = environment == null ? List.of() : List.copyOf(environment);
    testBeds = testBeds == null ? List.of() : List.copyOf(testBeds);
    steps = steps == null ? List.of() : List.copyOf(steps);
  }
}
