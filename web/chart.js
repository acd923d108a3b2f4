// Live curves on a canvas: the step loss (left) and train / validation accuracy per epoch (right).
export function draw(canvas, { losses, trainAcc, valAcc }) {
  const ctx = canvas.getContext('2d');
  const [W, H] = [canvas.width, canvas.height];
  ctx.clearRect(0, 0, W, H);
  const panel = (x0, title, series, yMax) => {
    const [pw, ph] = [W / 2 - 40, H - 40];
    ctx.strokeStyle = '#999'; ctx.strokeRect(x0, 20, pw, ph);
    ctx.fillStyle = '#222'; ctx.fillText(title, x0 + 4, 14);
    for (const { values, color } of series) {
      if (values.length === 0) continue;
      ctx.strokeStyle = color; ctx.beginPath();
      values.forEach((v, i) => {
        const x = x0 + (values.length === 1 ? pw / 2 : (i / (values.length - 1)) * pw);
        const y = 20 + ph - (Math.min(v, yMax) / yMax) * ph;
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.stroke();
    }
  };
  const top = Math.max(1e-6, ...losses);
  panel(10, `loss per step (last ${losses.length ? losses[losses.length - 1].toFixed(4) : '-'})`, [{ values: losses, color: '#c33' }], top);
  const last = (a) => (a.length ? `${(100 * a[a.length - 1]).toFixed(1)}%` : '-');
  panel(W / 2 + 10, `accuracy per epoch: train ${last(trainAcc)} (blue), val ${last(valAcc)} (green)`, [{ values: trainAcc, color: '#36c' }, { values: valAcc, color: '#393' }], 1);
}
