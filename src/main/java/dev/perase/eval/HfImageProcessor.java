package dev.perase.eval;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.perase.image.PilResize;
import dev.perase.io.BadInputException;
import dev.perase.io.Json;
import dev.perase.io.Png;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;

/**
 * A Hugging Face image processor read from {@code preprocessor_config.json}: transformers'
 * (4.33–4.45) {@code ConvNextImageProcessor} (ResNet-50, ConvNeXt) or {@code ViTImageProcessor}, on
 * 8-bit RGB images as {@code AutoImageProcessor.from_pretrained(folder)(pil_image)} computes them.
 *
 * <ol>
 *   <li>Resize with {@code PIL.Image.resize} on the uint8 image ({@link PilResize}, the configured
 *       filter, rounded and clipped to 0..255):
 *       <ul>
 *         <li>ConvNext, {@code shortest_edge < 384}: the short side to {@code s = int(shortest_edge
 *             / crop_pct)}, the long side to {@code int(s · long / short)}, then a centre crop of
 *             {@code shortest_edge²} at {@code top = (h − shortest_edge) // 2}, {@code left = (w −
 *             shortest_edge) // 2};
 *         <li>ConvNext, {@code shortest_edge ≥ 384}: straight to {@code shortest_edge²} ("warping",
 *             no crop);
 *         <li>ViT: straight to {@code height × width}.
 *       </ul>
 *   <li>Rescale: {@code float32(float64(u) · rescale_factor)}.
 *   <li>Normalise: {@code (x − mean) / std} in float32, mean and std rounded to float32 first.
 * </ol>
 *
 * Output: float32 CHW, the {@code pixel_values} of one image. {@code do_resize}, {@code
 * do_rescale}, {@code do_normalize} switch their step off as in transformers (without resizing a
 * ConvNext processor does not crop either; without rescaling the uint8 values are normalised).
 *
 * <p>Keys transformers gives defaults for take those defaults (legacy configs such as {@code
 * microsoft/resnet-50}'s have {@code feature_extractor_type: ConvNextFeatureExtractor}, {@code
 * size: 224} and no {@code do_rescale}); the processor type and {@code size} are required.
 */
public final class HfImageProcessor {
  public static final String FILE = "preprocessor_config.json";

  /** The two processors transformers' image-classification pipeline uses for these models. */
  public enum Kind {
    CONVNEXT("ConvNextImageProcessor"),
    VIT("ViTImageProcessor");

    /** The {@code image_processor_type} transformers writes. */
    public final String type;

    Kind(String type) {
      this.type = type;
    }
  }

  /**
   * The {@code size} entry: an int (legacy: ConvNext's shortest edge, ViT's square side) or a dict
   * with {@code shortest_edge} or {@code height} and {@code width}. Fields not given are null.
   */
  public record Size(Integer shortestEdge, Integer height, Integer width) {
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    static Size of(JsonNode n) {
      if (n.isIntegralNumber() && n.canConvertToInt()) {
        return new Size(n.asInt(), n.asInt(), n.asInt());
      }
      if (n.isObject()) {
        return new Size(
            intOrNull(n, "shortest_edge"), intOrNull(n, "height"), intOrNull(n, "width"));
      }
      throw new BadInputException(
          "size must be an int or a dict of shortest_edge or height and width, not " + n);
    }

    private static Integer intOrNull(JsonNode n, String key) {
      JsonNode v = n.get(key);
      if (v == null || v.isNull()) {
        return null;
      }
      if (!v.isIntegralNumber() || !v.canConvertToInt()) {
        throw new BadInputException("size." + key + " must be an int, not " + v);
      }
      return v.asInt();
    }
  }

  /**
   * {@code preprocessor_config.json} as transformers' {@code save_pretrained} writes it (unknown
   * keys ignored). Omitted keys take transformers' defaults for the processor ({@code do_*} true,
   * {@code rescale_factor} 1/255, {@code resample} 2 (bilinear), {@code crop_pct} 224/256, ImageNet
   * mean/std for ConvNext, 0.5 for ViT).
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Config(
      @JsonProperty("image_processor_type") String imageProcessorType,
      @JsonProperty("feature_extractor_type") String featureExtractorType,
      @JsonProperty("do_resize") Boolean doResize,
      @JsonProperty("size") Size size,
      @JsonProperty("crop_pct") Double cropPct,
      @JsonProperty("resample") Integer resample,
      @JsonProperty("do_rescale") Boolean doRescale,
      @JsonProperty("rescale_factor") Double rescaleFactor,
      @JsonProperty("do_normalize") Boolean doNormalize,
      @JsonProperty("image_mean")
          @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
          List<Double> imageMean,
      @JsonProperty("image_std") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
          List<Double> imageStd) {

    public Config {
      Kind kind = kindOf(imageProcessorType, featureExtractorType);
      imageProcessorType = kind.type;
      doResize = doResize == null || doResize;
      doRescale = doRescale == null || doRescale;
      doNormalize = doNormalize == null || doNormalize;
      rescaleFactor = rescaleFactor == null ? 1 / 255.0 : rescaleFactor;
      resample = resample == null ? 2 : resample;
      filterOf(resample);
      if (kind == Kind.CONVNEXT) {
        cropPct = cropPct == null ? 224 / 256.0 : cropPct;
        imageMean = imageMean == null ? List.of(0.485, 0.456, 0.406) : imageMean;
        imageStd = imageStd == null ? List.of(0.229, 0.224, 0.225) : imageStd;
      } else {
        imageMean = imageMean == null ? List.of(0.5, 0.5, 0.5) : imageMean;
        imageStd = imageStd == null ? List.of(0.5, 0.5, 0.5) : imageStd;
      }
      // a single number is every channel's (transformers: [mean] * num_channels)
      imageMean = imageMean.size() == 1 ? Collections.nCopies(3, imageMean.get(0)) : imageMean;
      imageStd = imageStd.size() == 1 ? Collections.nCopies(3, imageStd.get(0)) : imageStd;
      if (size == null) {
        throw new BadInputException("size is missing (the model's input size is never guessed)");
      }
      if (kind == Kind.CONVNEXT) {
        if (size.shortestEdge() == null || size.shortestEdge() < 1) {
          throw new BadInputException(
              "ConvNextImageProcessor needs size.shortest_edge ≥ 1, got " + size);
        }
        if (size.shortestEdge() < 384 && !(cropPct > 0 && cropPct <= 1)) {
          throw new BadInputException(
              "crop_pct must be in (0, 1] (a larger one would pad the crop), got " + cropPct);
        }
      } else if (size.height() == null
          || size.width() == null
          || size.height() < 1
          || size.width() < 1) {
        throw new BadInputException(
            "ViTImageProcessor needs size.height and size.width ≥ 1, got " + size);
      }
      if (!(rescaleFactor > 0) || Double.isInfinite(rescaleFactor)) {
        throw new BadInputException("rescale_factor must be positive, got " + rescaleFactor);
      }
      if (imageMean.size() != 3 || imageStd.size() != 3) {
        throw new BadInputException(
            "image_mean and image_std need one value per RGB channel, got "
                + imageMean
                + " and "
                + imageStd);
      }
      for (int c = 0; c < 3; c++) {
        Double m = imageMean.get(c);
        Double s = imageStd.get(c);
        if (m == null || !Double.isFinite(m) || s == null || !Double.isFinite(s) || s == 0) {
          throw new BadInputException(
              "image_mean must be finite and image_std finite and non-zero, got "
                  + imageMean
                  + " and "
                  + imageStd);
        }
      }
      imageMean = List.copyOf(imageMean);
      imageStd = List.copyOf(imageStd);
    }

    /** The processor this config is for. */
    public Kind kind() {
      return kindOf(imageProcessorType, featureExtractorType);
    }
  }

  /**
   * Where an image of a given size is resized to and cropped from.
   *
   * @param resizeHeight height after the resize (the input's when there is none)
   * @param resizeWidth width after the resize
   * @param cropTop first row of the crop in the resized image (0 without crop)
   * @param cropLeft first column of the crop
   * @param height output rows
   * @param width output columns
   */
  public record Plan(
      int resizeHeight, int resizeWidth, int cropTop, int cropLeft, int height, int width) {}

  private final Config config;
  private final PilResize.Filter filter;
  private final float[] mean;
  private final float[] std;

  public HfImageProcessor(Config config) {
    this.config = config;
    this.filter = filterOf(config.resample());
    this.mean = new float[3];
    this.std = new float[3];
    for (int c = 0; c < 3; c++) {
      mean[c] = config.imageMean().get(c).floatValue(); // np.array(mean, dtype=float32)
      std[c] = config.imageStd().get(c).floatValue();
    }
  }

  /** Reads {@code file} (a {@code preprocessor_config.json}); any problem names the file. */
  public static HfImageProcessor load(Path file) {
    return new HfImageProcessor(Json.read(file, Config.class));
  }

  public Config config() {
    return config;
  }

  public Kind kind() {
    return config.kind();
  }

  /** The resize and crop geometry for an image of {@code width × height}. */
  public Plan plan(int width, int height) {
    if (!config.doResize()) {
      return new Plan(height, width, 0, 0, height, width);
    }
    Size size = config.size();
    if (kind() == Kind.VIT) {
      return new Plan(size.height(), size.width(), 0, 0, size.height(), size.width());
    }
    int edge = size.shortestEdge();
    if (edge >= 384) {
      return new Plan(edge, edge, 0, 0, edge, edge);
    }
    // get_resize_output_image_size(image, int(shortest_edge / crop_pct), default_to_square=False)
    int s = (int) (edge / config.cropPct());
    int shortSide = Math.min(width, height);
    int longSide = Math.max(width, height);
    int newLong = (int) ((double) s * longSide / shortSide); // int(s * long / short)
    int rh = width <= height ? newLong : s;
    int rw = width <= height ? s : newLong;
    // center_crop to (edge, edge): top = (h - edge) // 2, inside the image since s >= edge
    return new Plan(rh, rw, Math.floorDiv(rh - edge, 2), Math.floorDiv(rw - edge, 2), edge, edge);
  }

  /** The {@code pixel_values} of one image: float32, (3, H, W) row-major. */
  public float[] preprocess(Png.Image image) {
    Plan p = plan(image.width(), image.height());
    Png.Image resized =
        config.doResize()
            ? PilResize.resize(image, p.resizeWidth(), p.resizeHeight(), filter)
            : image;
    int hw = p.height() * p.width();
    float[] out = new float[3 * hw];
    double scale = config.rescaleFactor();
    for (int y = 0; y < p.height(); y++) {
      for (int x = 0; x < p.width(); x++) {
        for (int c = 0; c < 3; c++) {
          int u = resized.get(y + p.cropTop(), x + p.cropLeft(), c);
          // rescale: image.astype(float64) * scale, then .astype(float32)
          float v = config.doRescale() ? (float) (u * scale) : u;
          if (config.doNormalize()) {
            v = (v - mean[c]) / std[c]; // float32 numpy: (image - mean) / std
          }
          out[c * hw + y * p.width() + x] = v;
        }
      }
    }
    return out;
  }

  private static Kind kindOf(String imageProcessorType, String featureExtractorType) {
    // AutoImageProcessor: a legacy config names its FeatureExtractor, which maps to the processor
    String type =
        imageProcessorType != null
            ? imageProcessorType
            : featureExtractorType != null
                ? featureExtractorType.replace("FeatureExtractor", "ImageProcessor")
                : null;
    if (type == null) {
      throw new BadInputException(
          "image_processor_type is missing (nor is there a feature_extractor_type)");
    }
    for (Kind k : Kind.values()) {
      if (k.type.equals(type)) {
        return k;
      }
    }
    throw new BadInputException(
        "image processor '"
            + type
            + "' is not supported (supported: ConvNextImageProcessor, ViTImageProcessor)");
  }

  /** PIL's resampling ids: 2 bilinear, 3 bicubic; the others are not ported. */
  private static PilResize.Filter filterOf(int resample) {
    return switch (resample) {
      case 2 -> PilResize.Filter.BILINEAR;
      case 3 -> PilResize.Filter.BICUBIC;
      default ->
          throw new BadInputException(
              "resample "
                  + resample
                  + " is not supported (2 = bilinear and 3 = bicubic are; PIL's 0 nearest,"
                  + " 1 lanczos, 4 box and 5 hamming are not)");
    };
  }
}
