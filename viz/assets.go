package viz

import (
	_ "embed"
)

// EChartsVersion is the version of the Apache ECharts build embedded in every report.
const EChartsVersion = "5.6.0"

// echartsJS is dist/echarts.min.js from the npm package echarts@5.6.0 (Apache-2.0; its LICENSE
// and NOTICE sit beside it in assets/echarts).
//
//go:embed assets/echarts/echarts.min.js
var echartsJS string

// EChartsJS returns the embedded ECharts script, for pages that viz does not render itself.
// Report pages already inline it.
func EChartsJS() string { return echartsJS }
