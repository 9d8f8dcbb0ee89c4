package dev.perase.analysis;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.perase.Version;
import dev.perase.erase.EraseMethod;
import dev.perase.erase.FineTunedWeights;
import dev.perase.eval.EditFile;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.io.SafeTensors;
import dev.perase.model.nn.Param;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * NP-ESD (paper §4.5, Table 6): from an ESD model, find the top-k concept neurons of every
 * ResnetBlock2D (Eq. 4, {@link ConceptNeurons}, averaged over the recorded steps) and set them to
 * zero for the whole denoising run. A neuron is a channel of the SiLU output feeding {@code conv2},
 * so zeroing it is zeroing that input channel of {@code conv2.weight}: the output is a weights file
 * holding the ESD model's changed tensors plus every edited {@code conv2.weight}.
 */
public final class NeuronPruning {
  public static final String OUTPUT = "weights.safetensors";

  private NeuronPruning() {}

  /**
   * What NP-ESD ran with.
   *
   * @param from the ESD weights file it starts from
   * @param prompts the concept prompts of Eq. 4
   * @param topK neurons zeroed per layer (Table 6: 1)
   * @param steps DDIM steps of the generations Eq. 4 is measured on
   */
  public record Settings(
      @JsonProperty("from") String from,
      @JsonProperty("prompts") String prompts,
      @JsonProperty("top_k") int topK,
      @JsonProperty("steps") int steps) {
    public Settings {
      if (topK < 1) {
        throw new BadInputException("--top-k must be at least 1, got " + topK);
      }
    }
  }

  /**
   * What was pruned.
   *
   * @param artifact the weights file written
   * @param channels zeroed channel indices per layer
   * @param wallSeconds the run's wall time
   */
  public record Result(Path artifact, Map<String, int[]> channels, double wallSeconds) {}

  /** {@code config.json} of an NP-ESD run. */
  record Config(
      @JsonProperty("method") String method,
      @JsonProperty("settings") Settings settings,
      @JsonProperty("channels") Map<String, int[]> channels,
      @JsonProperty("wall_seconds") double wallSeconds,
      @JsonProperty("perase_version") String peraseVersion) {}

  /**
   * Runs NP-ESD on {@code sd} (the base model, left as it was) into {@code out}: the concept
   * neurons between the base and the ESD model on {@code prompts}, then the ESD weights with the
   * top-k neurons of each layer zeroed.
   */
  public static Result run(
      StableDiffusion sd, Path esdWeights, Path prompts, int topK, int steps, Path out) {
    long t0 = System.nanoTime();
    Settings settings = new Settings(esdWeights.toString(), prompts.toString(), topK, steps);
    String hash = sd.layout().modelHash();
    String method;
    String concept;
    try (SafeTensors st = SafeTensors.open(esdWeights)) {
      method = st.metadata().get("method");
      concept = st.metadata().getOrDefault("concept", "");
    }
    if (method != null && !method.equals(EraseMethod.ESD.json())) {
      throw new BadInputException(
          esdWeights + " was made by " + method + "; NP-ESD starts from an ESD weights file");
    }
    // 1. concept neurons (Eq. 4) of the ESD model against the base model
    NeuronSettings ns =
        new NeuronSettings(
            prompts,
            new EditFile.Weights(esdWeights),
            null,
            null,
            null,
            steps,
            null,
            topK,
            0,
            0,
            0,
            out.resolve("neurons"),
            Version.NAME);
    ConceptNeurons neurons = NeuronAnalysis.run(sd, ns, NeuronAnalysis.Listener.NONE).neurons();
    Map<String, int[]> channels = neurons.topK(topK);
    // 2. the ESD weights, then every layer's conv2 blind to its concept neurons
    Map<String, Param> named = sd.unet().params().named();
    List<Param> changed = new ArrayList<>();
    try (SafeTensors st = SafeTensors.open(esdWeights)) {
      for (String key : st.keys()) {
        changed.add(named.get(key));
      }
    }
    for (String layer : channels.keySet()) {
      Param conv2 = named.get(ConceptNeurons.conv2Weight(layer));
      if (!changed.contains(conv2)) {
        changed.add(conv2);
      }
    }
    try (NDManager m = Torch.newManager()) {
      // the tensors this run changes, kept to give the base model back afterwards
      List<NDArray> before = new ArrayList<>();
      for (Param p : changed) {
        before.add(p.value().duplicate());
      }
      try {
        FineTunedWeights.applyTo(esdWeights, sd.unet().params(), hash);
        for (Map.Entry<String, int[]> e : channels.entrySet()) {
          NDArray w = named.get(ConceptNeurons.conv2Weight(e.getKey())).value();
          float[] keep = new float[Math.toIntExact(w.size())];
          java.util.Arrays.fill(keep, 1f);
          for (int i : ConceptNeurons.conv2InputIndices(w.getShape().getShape(), e.getValue())) {
            keep[i] = 0f;
          }
          // in place, so that the parameter keeps its storage
          w.muli(m.create(keep, w.getShape()));
        }
        Files.createDirectories(out);
        double seconds = (System.nanoTime() - t0) / 1e9;
        FineTunedWeights.write(
            out.resolve(OUTPUT),
            changed,
            hash,
            EraseMethod.NP_ESD,
            concept,
            "conv2 of every ResnetBlock2D, with the ESD model's tensors",
            Json.MAPPER.writeValueAsString(settings));
        Json.write(
            out.resolve("config.json"),
            new Config(EraseMethod.NP_ESD.json(), settings, channels, seconds, Version.NAME));
        return new Result(out.resolve(OUTPUT), channels, seconds);
      } catch (IOException e) {
        throw new BadInputException("cannot write " + out + ": " + e.getMessage(), e);
      } finally {
        for (int i = 0; i < changed.size(); i++) {
          changed.get(i).value().muli(0).addi(before.get(i));
        }
      }
    }
  }
}
