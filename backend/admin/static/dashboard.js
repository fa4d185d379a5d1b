// The dashboard's charts (Chart.js, served from this app).
(function () {
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const names = JSON.parse(document.getElementById("channel-names").textContent);
  const palette = {
    sms: "#6366f1", whatsapp: "#22c55e", voice: "#f59e0b", messenger: "#3b82f6",
    telegram: "#06b6d4", webchat: "#a855f7", alexa: "#0ea5e9", google: "#ef4444",
    api: "#94a3b8", console: "#64748b",
  };
  const grid = { color: "#eef0f5" };
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#6b7185";
  Chart.defaults.animation = false;  // read at a glance, and screenshots stay still

  const labels = data.days.map((d) => {
    const [y, m, day] = d.split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, day)).toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
  });
  new Chart(document.getElementById("perDay"), {
    type: "bar",
    data: {
      labels,
      datasets: Object.entries(data.perDay).map(([channel, values]) => ({
        label: names[channel] || channel, data: values, backgroundColor: palette[channel] || "#94a3b8",
        borderRadius: 3, maxBarThickness: 26,
      })),
    },
    options: {
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom", labels: { boxWidth: 10, boxHeight: 10, usePointStyle: true } } },
      scales: { x: { stacked: true, grid: { display: false }, ticks: { maxTicksLimit: 12 } },
                y: { stacked: true, beginAtZero: true, grid, ticks: { precision: 0 } } },
    },
  });

  function bars(id, pairs, color) {
    new Chart(document.getElementById(id), {
      type: "bar",
      data: { labels: pairs.map((p) => p[0]), datasets: [{ data: pairs.map((p) => p[1]), backgroundColor: color, borderRadius: 4, maxBarThickness: 18 }] },
      options: {
        indexAxis: "y", maintainAspectRatio: false, plugins: { legend: { display: false } },
        scales: { x: { beginAtZero: true, grid, ticks: { precision: 0 } }, y: { grid: { display: false } } },
      },
    });
  }
  bars("categories", data.categories, "#6366f1");
  bars("cities", data.cities, "#06b6d4");

  const fu = data.followUps;
  new Chart(document.getElementById("followUps"), {
    type: "doughnut",
    data: { labels: fu.map((p) => p[0]), datasets: [{ data: fu.map((p) => p[1]), backgroundColor: ["#22c55e", "#ef4444", "#f59e0b"], borderWidth: 0 }] },
    options: { maintainAspectRatio: false, cutout: "62%", plugins: { legend: { position: "right", labels: { boxWidth: 10, usePointStyle: true } } } },
  });
})();
