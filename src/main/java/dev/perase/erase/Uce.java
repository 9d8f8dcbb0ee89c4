package dev.perase.erase;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.model.nn.Param;
import dev.perase.model.nn.ParamSet;
import dev.perase.pipeline.StableDiffusion;
import dev.perase.tensor.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * UCE, unified concept editing (Gandikota et al. 2024, "Unified Concept Editing in Diffusion
 * Models", Eq. 7; {@code train-scripts/train_erase.py}, technique "replace"): a closed-form edit of
 * every cross-attention key and value projection W ({@code attn2.to_k}, {@code attn2.to_v}, out ×
 * d) that maps the erased concept's text embeddings c_i onto the outputs of a guide concept while
 * keeping those of preserved concepts c_j:
 *
 * <pre>
 *   min_W  Σ_i e ‖W c_i − v_i*‖² + Σ_j p ‖W c_j − W_old c_j‖² + λ ‖W − W_old‖²,   v_i* = W_old g_i
 *   W     = (Σ_i e v_i* c_iᵀ + Σ_j p W_old c_j c_jᵀ + λ W_old) (Σ_i e c_i c_iᵀ + Σ_j p c_j c_jᵀ + λ I)⁻¹
 * </pre>
 *
 * with erase scale e, preserve scale p and regulariser λ (defaults 1, 1, 0.5). Because every target
 * is W_old times an embedding, the edit is the same right factor for every layer:
 *
 * <pre>
 *   W = W_old R,   R = (λI + e Σ_i g_i c_iᵀ + p Σ_j c_j c_jᵀ) M⁻¹,   M = λI + e Σ_i c_i c_iᵀ + p Σ_j c_j c_jᵀ
 * </pre>
 *
 * so one d×d system is solved (Cholesky, double precision; M is symmetric positive definite for λ >
 * 0) and each layer costs one matrix product, in double precision too.
 *
 * <p>Which embeddings, as UCE's code takes them: the text encoder's last hidden states (the
 * cross-attention context). For the concept, the rows from its <em>last word token</em> to the end
 * of the 77 positions (that token, the end token and the padding, which in CLIP's causal encoder
 * all carry the whole prompt), aligned position by position with the guide's rows from its own last
 * token (the start token for the empty guide), both cut to the same count: c_i and g_i. Preserved
 * concepts contribute all 77 rows each; without a preserve list, the empty prompt "" is preserved
 * (UCE's code does the same), which keeps the unconditional branch of classifier-free guidance.
 */
public final class Uce {
  /** The parameters UCE edits: every cross attention's key and value projection weight. */
  public static final Selection SELECTION = Selection.regex("attn2\\.to_[kv]\\.weight$");

  public static final String OUTPUT = FineTuneTrainer.OUTPUT;

  private Uce() {}

  /**
   * The aligned rows of one edit, each row a d-vector.
   *
   * @param erased c_i, the erased concept's rows
   * @param guides g_i, the guide's rows aligned with c_i
   * @param preserved c_j, the preserved concepts' rows
   */
  public record Rows(double[][] erased, double[][] guides, double[][] preserved) {
    public Rows {
      if (erased.length != guides.length) {
        throw new IllegalArgumentException(
            erased.length + " erased rows but " + guides.length + " guide rows");
      }
    }
  }

  /** R with W_new = W_old R (see the class javadoc), d×d. */
  public static double[][] editFactor(
      Rows rows, double eraseScale, double preserveScale, double lambda) {
    int d = dimension(rows);
    double[][] m = new double[d][d];
    double[][] k = new double[d][d];
    for (int a = 0; a < d; a++) {
      m[a][a] = lambda;
      k[a][a] = lambda;
    }
    for (int i = 0; i < rows.erased().length; i++) {
      addOuter(m, eraseScale, rows.erased()[i], rows.erased()[i]);
      addOuter(k, eraseScale, rows.guides()[i], rows.erased()[i]);
    }
    for (double[] c : rows.preserved()) {
      addOuter(m, preserveScale, c, c);
      addOuter(k, preserveScale, c, c);
    }
    // R = K M⁻¹  ⇔  M Rᵀ = Kᵀ (M symmetric)
    return transpose(Cholesky.solve(m, transpose(k)));
  }

  /** The edited weight W_old R of one layer, in double precision: (out, d). */
  public static double[][] edit(
      double[][] wOld, Rows rows, double eraseScale, double preserveScale, double lambda) {
    double[][] r = editFactor(rows, eraseScale, preserveScale, lambda);
    int d = r.length;
    double[][] w = new double[wOld.length][d];
    for (int o = 0; o < wOld.length; o++) {
      for (int a = 0; a < d; a++) {
        double x = wOld[o][a];
        if (x != 0) {
          double[] ra = r[a];
          double[] wo = w[o];
          for (int b = 0; b < d; b++) {
            wo[b] += x * ra[b];
          }
        }
      }
    }
    return w;
  }

  /**
   * Edits {@code sd}'s UNet in place as {@code settings} say and writes {@code weights.safetensors}
   * (the edited tensors, loadable with {@code --weights}) and {@code config.json} into {@code out}.
   * The reported wall time covers encoding the prompts, solving and editing every layer.
   */
  public static Erasure run(StableDiffusion sd, UceSettings settings, Path out) {
    Path artifact = out.resolve(OUTPUT);
    if (Files.exists(artifact)) {
      throw new BadInputException(
          out + " already holds an erasure (" + OUTPUT + "); choose another --out");
    }
    try {
      Files.createDirectories(out);
    } catch (IOException e) {
      throw new BadInputException(
          "cannot create the output folder " + out + ": " + e.getMessage(), e);
    }
    ParamSet params = sd.unet().params();
    List<Param> selected = SELECTION.select(params);
    if (selected.isEmpty()) {
      throw new BadInputException("the model has no cross-attention key or value projection");
    }
    long t0 = System.nanoTime();
    Rows rows;
    double[][] r;
    long elements = 0;
    try (NDManager manager = Torch.newManager()) {
      rows = rows(sd, settings, manager);
      r = editFactor(rows, settings.eraseScale(), settings.preserveScale(), settings.lambda());
      int d = r.length;
      double[] flat = new double[d * d];
      for (int a = 0; a < d; a++) {
        System.arraycopy(r[a], 0, flat, a * d, d);
      }
      NDArray factor = manager.create(flat, new Shape(d, d));
      for (Param p : selected) {
        NDArray old = p.value();
        if (old.getShape().get(1) != d) {
          throw new BadInputException(
              p.name()
                  + " reads "
                  + old.getShape().get(1)
                  + " text features, the encoder gives "
                  + d);
        }
        NDArray edited;
        try (NDManager tmp = manager.newSubManager()) {
          NDArray w = old.toType(DataType.FLOAT64, true);
          w.attach(tmp);
          edited = w.matMul(factor).toType(DataType.FLOAT32, false);
          edited.attach(old.getManager());
        }
        p.setValue(edited);
        old.close();
        elements += p.numel();
      }
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    String hash = sd.layout().modelHash();
    String settingsJson;
    try {
      settingsJson =
          Json.MAPPER
              .writer()
              .without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
              .writeValueAsString(settings);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    FineTunedWeights.write(
        artifact,
        selected,
        hash,
        EraseMethod.UCE,
        settings.concept(),
        SELECTION.name(),
        settingsJson);
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("artifact", OUTPUT);
    result.put("wall_seconds", seconds);
    result.put("edited_tensors", selected.size());
    result.put("edited_elements", elements);
    result.put("erased_rows", rows.erased().length);
    result.put("preserved_rows", rows.preserved().length);
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("command", "erase");
    config.put("perase_version", MaskMetadata.currentVersion());
    config.put("model", sd.layout().path().toString());
    if (sd.layout().configDir() != null) {
      config.put("model_config", sd.layout().configDir().toString());
    }
    config.put("model_hash", hash);
    config.put("method", EraseMethod.UCE.json());
    config.put("settings", settings);
    config.put("selection", RunFolder.summary(SELECTION.summarize(params)));
    config.put("status", "finished");
    config.put("result", result);
    Json.write(out.resolve(RunFolder.CONFIG), config);
    return new Erasure(artifact, 0, 0, Float.NaN, Double.NaN, -1, elements, seconds);
  }

  /**
   * The aligned rows of UCE's code from the text encoder: the concept's from its last word token on
   * and the guide's from its last token on, cut to a common count; all rows of each preserved
   * concept.
   */
  static Rows rows(StableDiffusion sd, UceSettings settings, NDManager manager) {
    List<String> prompts = new ArrayList<>();
    prompts.add(settings.concept());
    prompts.add(settings.guide());
    prompts.addAll(settings.preserve());
    NDArray states = sd.encodePrompts(prompts, manager); // (2 + P, L, d)
    int length = (int) states.getShape().get(1);
    int d = (int) states.getShape().get(2);
    float[] all = states.toFloatArray();
    int last = lastTokenIndex(sd, settings.concept(), length);
    int lastGuide = lastTokenIndex(sd, settings.guide(), length);
    int farthest = Math.max(last, lastGuide);
    int n = length - farthest;
    double[][] erased = new double[n][];
    double[][] guides = new double[n][];
    for (int i = 0; i < n; i++) {
      erased[i] = row(all, 0, last + i, length, d);
      guides[i] = row(all, 1, lastGuide + i, length, d);
    }
    double[][] preserved = new double[settings.preserve().size() * length][];
    for (int j = 0; j < settings.preserve().size(); j++) {
      for (int t = 0; t < length; t++) {
        preserved[j * length + t] = row(all, 2 + j, t, length, d);
      }
    }
    return new Rows(erased, guides, preserved);
  }

  /**
   * The position of a prompt's last word token in the padded ids (UCE's {@code attention_mask.sum()
   * − 2}): 0, the start token, for the empty prompt.
   */
  static int lastTokenIndex(StableDiffusion sd, String prompt, int length) {
    int tokens = Math.min(sd.tokenizer().encodeNoPad(prompt).length, length); // with start and end
    return tokens - 2;
  }

  private static double[] row(float[] all, int prompt, int position, int length, int d) {
    double[] out = new double[d];
    int base = (prompt * length + position) * d;
    for (int a = 0; a < d; a++) {
      out[a] = all[base + a];
    }
    return out;
  }

  private static int dimension(Rows rows) {
    if (rows.erased().length > 0) {
      return rows.erased()[0].length;
    }
    if (rows.preserved().length > 0) {
      return rows.preserved()[0].length;
    }
    throw new IllegalArgumentException("UCE needs at least one embedding row");
  }

  /** m += s · x yᵀ. */
  private static void addOuter(double[][] m, double s, double[] x, double[] y) {
    for (int a = 0; a < x.length; a++) {
      double sx = s * x[a];
      if (sx != 0) {
        double[] ma = m[a];
        for (int b = 0; b < y.length; b++) {
          ma[b] += sx * y[b];
        }
      }
    }
  }

  private static double[][] transpose(double[][] a) {
    double[][] t = new double[a[0].length][a.length];
    for (int i = 0; i < a.length; i++) {
      for (int j = 0; j < a[0].length; j++) {
        t[j][i] = a[i][j];
      }
    }
    return t;
  }
}
