package dev.perase.world;

/**
 * Where the figure sits in the 32×32 image, in output pixels (origin at the top-left corner of the
 * top-left pixel, y down).
 *
 * @param centerX figure centre, x
 * @param centerY figure centre, y
 * @param radius half the figure's size: the unit outline is scaled by this
 * @param rotation clockwise rotation in radians (applied to the outline and its texture)
 * @param texturePhase offset of the texture pattern in pixels, so stripes and dots do not always
 *     start at the figure's centre
 */
public record Placement(
    double centerX, double centerY, double radius, double rotation, double texturePhase) {
  public Placement {
    if (!(radius > 0) || !Double.isFinite(centerX) || !Double.isFinite(centerY)) {
      throw new IllegalArgumentException("bad placement: centre and a positive radius needed");
    }
  }
}
