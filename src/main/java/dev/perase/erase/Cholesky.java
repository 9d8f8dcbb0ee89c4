package dev.perase.erase;

/**
 * Solves {@code A X = B} for a symmetric positive definite A in double precision by the Cholesky
 * factorisation {@code A = L Lᵀ} (Golub & Van Loan, Alg. 4.2.1), then forward and back substitution
 * per column of B. Small and dense: UCE's d×d systems (d = 768 for SD v1.x).
 */
final class Cholesky {
  private Cholesky() {}

  /**
   * X with {@code A X = B}; A (n×n) is read from its lower triangle and left unchanged, B (n×k)
   * too.
   *
   * @throws IllegalArgumentException when A is not (numerically) positive definite
   */
  static double[][] solve(double[][] a, double[][] b) {
    int n = a.length;
    if (b.length != n) {
      throw new IllegalArgumentException("B has " + b.length + " rows, A has " + n);
    }
    double[][] l = factor(a);
    // L Y = B, a whole row of Y at a time (rows are contiguous in memory)
    double[][] y = new double[n][];
    for (int i = 0; i < n; i++) {
      double[] yi = b[i].clone();
      for (int j = 0; j < i; j++) {
        axpy(-l[i][j], y[j], yi);
      }
      scale(yi, 1 / l[i][i]);
      y[i] = yi;
    }
    // Lᵀ X = Y
    double[][] x = new double[n][];
    for (int i = n - 1; i >= 0; i--) {
      double[] xi = y[i];
      for (int j = i + 1; j < n; j++) {
        axpy(-l[j][i], x[j], xi);
      }
      scale(xi, 1 / l[i][i]);
      x[i] = xi;
    }
    return x;
  }

  private static void axpy(double alpha, double[] x, double[] y) {
    for (int c = 0; c < y.length; c++) {
      y[c] += alpha * x[c];
    }
  }

  private static void scale(double[] x, double s) {
    for (int c = 0; c < x.length; c++) {
      x[c] *= s;
    }
  }

  /** The lower-triangular L with {@code A = L Lᵀ}. */
  static double[][] factor(double[][] a) {
    int n = a.length;
    double[][] l = new double[n][n];
    for (int j = 0; j < n; j++) {
      if (a[j].length != n) {
        throw new IllegalArgumentException("the matrix is not square");
      }
      double[] lj = l[j];
      double d = a[j][j];
      for (int p = 0; p < j; p++) {
        d -= lj[p] * lj[p];
      }
      if (!(d > 0)) {
        throw new IllegalArgumentException(
            "the matrix is not positive definite (pivot " + d + " at row " + j + ")");
      }
      lj[j] = Math.sqrt(d);
      for (int i = j + 1; i < n; i++) {
        double[] li = l[i];
        double s = a[i][j];
        for (int p = 0; p < j; p++) {
          s -= li[p] * lj[p];
        }
        li[j] = s / lj[j];
      }
    }
    return l;
  }
}
