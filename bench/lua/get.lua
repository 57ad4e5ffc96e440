-- GET by id, uniformly over the filled images (ids 00000000-0000-4000-8000-<n as 12 hex digits>, n = 1..count).
local count = 1000
init = function(args) count = tonumber(args[1]) or count end
request = function()
  local id = string.format("00000000-0000-4000-8000-%012x", math.random(1, count))
  return wrk.format("GET", wrk.path .. "/" .. id)
end
