-- 80% GET by id over the filled images, 20% POST create.
local count = 1000
local counter = 0
local prefix = tostring(os.time()) .. "-" .. tostring(math.random(1, 1e9))
init = function(args) count = tonumber(args[1]) or count end
request = function()
  if math.random() < 0.8 then
    local id = string.format("00000000-0000-4000-8000-%012x", math.random(1, count))
    return wrk.format("GET", wrk.path .. "/" .. id)
  end
  counter = counter + 1
  local body = string.format('{"displayName":"mixed %s %d","version":"1.0.0","sourceImageResourceId":"/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg/providers/Microsoft.Compute/images/bench"}', prefix, counter)
  return wrk.format("POST", wrk.path, {["Content-Type"] = "application/json"}, body)
end
